/*  commit.c: the writer's batches against the store. See commit.h. */
#include <stdio.h>
#include <stdlib.h>

#include "api/methods.h"
#include "exec/commit.h"
#include "exec/recorder.h"
#include "exec/workers.h"
#include "log.h"
#include "store/store.h"

struct commit_t {
    handler_env_t env;
    recorder_t *recorder; /* audit entries, idempotency keys, events */
    unsigned long commits;
};

commit_t *
commit_new(const handler_env_t *env, recorder_publish_fn publish,
           void *publish_arg, dossier_error_t *err) {
    commit_t *self = calloc(1, sizeof *self);
    if (self) {
        self->env = *env;
        self->env.stats = NULL;
        self->env.users = NULL;
        self->recorder = recorder_new(env->config, publish, publish_arg);
    }
    if (!self || !self->recorder) {
        free(self);
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    return self;
}

void
commit_destroy(commit_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    commit_t *self = *self_p;
    recorder_destroy(&self->recorder);
    free(self);
    *self_p = NULL;
}

unsigned long
commit_count(const commit_t *self) {
    return self->commits;
}

/*  Fails every job of the batch that would otherwise report success. */
static void
s_fail_batch(job_t **jobs, size_t n, dossier_status_t rc, const char *why) {
    dossier_error_t err = {0};
    dossier_error_set(&err, rc, "the write was not committed: %s", why);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i]->code == DOSSIER_OK) {
            job_finish(jobs[i], rc, &err);
        }
    }
}

/*  Each write is recorded in the same batch (audit entry, the reply
    under its idempotency key, its change events), and a repeated
    idempotency key is answered from the first reply without writing;
    notes of refused calls (audit_only) add their audit entry. The change
    events go out only after the commit is durable. */
static dossier_status_t
s_run(commit_t *self, job_t **jobs, size_t n, const commit_entry_t *entry) {
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    dossier_status_t rc = store_batch_begin(self->env.store, &batch, &err);
    if (rc != DOSSIER_OK) {
        for (size_t i = 0; i < n; i++) {
            job_finish(jobs[i], rc, &err);
        }
        return rc;
    }
    if (entry) {
        store_batch_set_clock(batch, entry->wall_ms);
    }
    recorder_batch_begin(self->recorder);
    int64_t started = job_now_ms();
    size_t written = 0, replayed = 0;
    for (size_t i = 0; i < n; i++) {
        job_t *job = jobs[i];
        size_t mark = store_batch_mark(batch);
        if (job->audit_only) {
            /* A refused call: its code and message are already set. */
        } else if (!entry && job_expired(job)) {
            /* Not written, but audited like every write. */
            worker_expire(job);
        } else if (recorder_replay(self->recorder, batch, job)) {
            replayed++;
            continue;
        } else {
            dossier_error_t job_err = {0};
            rc = job->method->write(&self->env, batch, job, &job_err);
            job_finish(job, rc, &job_err);
        }
        rc = recorder_record(self->recorder, batch, job, mark, &err);
        if (rc != DOSSIER_OK) {
            /* Never a write without its audit entry: none happens. */
            log_error("the audit log could not be written: %s", err.message);
            char why[300];
            snprintf(why, sizeof why, "the audit log could not be written: %s",
                     err.message);
            s_fail_batch(jobs, n, rc, why);
            store_batch_abort(&batch);
            recorder_batch_begin(self->recorder);
            return rc;
        }
        written++;
    }
    if (written == 0) {
        store_batch_abort(&batch);
        return DOSSIER_OK;
    }
    rc = recorder_expire(self->recorder, batch, &err);
    if (rc != DOSSIER_OK) {
        log_warn("idempotency keys or audit entries not expired: %s",
                 err.message);
    }
    if (entry) {
        rc = store_batch_set_applied(batch, entry->raft_index, &err);
    }
    if (rc == DOSSIER_OK) {
        rc = store_batch_commit(&batch, &err);
    }
    store_batch_abort(&batch);
    if (rc != DOSSIER_OK) {
        /* None of the batch happened: no write may report success, not
           even one answered from a key this batch stored. */
        s_fail_batch(jobs, n, rc, err.message);
        recorder_batch_begin(self->recorder);
        return rc;
    }
    self->commits++;
    recorder_publish(self->recorder);
    log_debug("group commit: %zu writes and notes committed together (%zu "
              "answered from their idempotency key) in %lld ms",
              written, replayed, (long long)(job_now_ms() - started));
    return DOSSIER_OK;
}

void
commit_batch(commit_t *self, job_t **jobs, size_t n) {
    s_run(self, jobs, n, NULL);
}

dossier_status_t
commit_apply(commit_t *self, job_t **jobs, size_t n,
             const commit_entry_t *entry) {
    recorder_set_clock(self->recorder, entry->wall_ms);
    dossier_status_t rc = s_run(self, jobs, n, entry);
    recorder_set_clock(self->recorder, 0);
    return rc;
}

dossier_status_t
commit_applied_index(commit_t *self, uint64_t *index_p, dossier_error_t *err) {
    return store_applied_index(self->env.store, index_p, err);
}

bool
commit_merge(commit_t *self) {
    dossier_error_t err = {0};
    store_batch_t *batch = NULL;
    bool merged = false, more = false;
    int64_t started = job_now_ms();
    dossier_status_t rc = store_batch_begin(self->env.store, &batch, &err);
    if (rc == DOSSIER_OK) {
        rc = store_batch_merge(batch, &merged, &more, &err);
    }
    if (rc == DOSSIER_OK && merged) {
        rc = store_batch_commit(&batch, &err);
    }
    store_batch_abort(&batch);
    if (rc != DOSSIER_OK) {
        /* Tried again after the next commit; searches stay right. */
        log_warn("index merge left for later: %s", err.message);
        more = false;
    } else if (merged) {
        log_info("index merge done in %lld ms (%s due)",
                 (long long)(job_now_ms() - started),
                 more ? "another" : "none");
    }
    return more;
}
