/*  grpc_server.cc: dossier-grpc-server, the gRPC baseline of `make bench`
    (bench/load/run.sh). A gRPC C++ server (Debian's libgrpc++, the
    callback API) whose one method, dossierbench.Records/Get, answers a
    record id with the record's bytes read from LMDB, as dossierd's Get
    does: the stored packed dossier.v1.Report, not decoded on the way out.

    --load-from EP --records N first copies the records "bench-0000000"
    .. from the dossierd at EP (grpc_load.h) into a fresh LMDB store in
    --data DIR, so both servers serve the same bytes. It then listens on
    --listen (default 127.0.0.1:0, a free port), prints
    "dossier-grpc-server: listening on HOST:PORT ..." on stdout, and
    serves until SIGTERM or SIGINT.

    Bench-only: nothing of the product links it. Exit 0 after a clean
    stop, 1 when it could not start, 2 on a usage error. */
#include <grpcpp/grpcpp.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "grpc_load.h"
#include "records.grpc.pb.h"

namespace {

struct Store {
    MDB_env *env = nullptr;
    MDB_dbi dbi = 0;
};

/*  One read transaction per thread, reset between calls and renewed for
    the next (what dossierd's readers do): beginning one per call would
    cost more than the lookup. The gRPC threads live as long as the
    server. */
thread_local MDB_txn *t_txn = nullptr;

int
s_read_begin(const Store &store, MDB_txn **txn) {
    if (t_txn) {
        int rc = mdb_txn_renew(t_txn);
        if (rc == 0) {
            *txn = t_txn;
        }
        return rc;
    }
    int rc = mdb_txn_begin(store.env, nullptr, MDB_RDONLY, &t_txn);
    if (rc == 0) {
        *txn = t_txn;
    }
    return rc;
}

class RecordsService final : public dossierbench::Records::CallbackService {
  public:
    explicit RecordsService(const Store &store) : store_(store) {
    }

    grpc::ServerUnaryReactor *
    Get(grpc::CallbackServerContext *context,
        const dossierbench::GetRequest *request,
        dossierbench::GetReply *reply) override {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        MDB_txn *txn = nullptr;
        int rc = s_read_begin(store_, &txn);
        if (rc != 0) {
            reactor->Finish(
                grpc::Status(grpc::StatusCode::INTERNAL, mdb_strerror(rc)));
            return reactor;
        }
        MDB_val key = {request->id().size(),
                       const_cast<char *>(request->id().data())};
        MDB_val value;
        rc = mdb_get(txn, store_.dbi, &key, &value);
        if (rc == 0) {
            reply->set_report(value.mv_data, value.mv_size);
        }
        mdb_txn_reset(txn);
        if (rc == 0) {
            reactor->Finish(grpc::Status::OK);
        } else if (rc == MDB_NOTFOUND) {
            reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                         "no record " + request->id()));
        } else {
            reactor->Finish(
                grpc::Status(grpc::StatusCode::INTERNAL, mdb_strerror(rc)));
        }
        return reactor;
    }

  private:
    const Store &store_;
};

struct LoadTxn {
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc;
};

int
s_put(const char *id, const void *report, size_t size, void *arg) {
    LoadTxn *load = static_cast<LoadTxn *>(arg);
    MDB_val key = {std::strlen(id), const_cast<char *>(id)};
    MDB_val value = {size, const_cast<void *>(report)};
    load->rc = mdb_put(load->txn, load->dbi, &key, &value, 0);
    return load->rc;
}

void
s_usage(FILE *f) {
    std::fprintf(
        f, "usage: dossier-grpc-server --data DIR [options]\n"
           "  --data DIR         the LMDB store (created when missing)\n"
           "  --load-from EP     copy the records from the dossierd at EP\n"
           "  --records N        how many (bench-0000000 ..; 10000)\n"
           "  --listen ADDR      host:port (127.0.0.1:0, a free port)\n");
}

int
s_fail(const char *what, int rc) {
    std::fprintf(stderr, "dossier-grpc-server: %s: %s\n", what,
                 mdb_strerror(rc));
    return 1;
}

} // namespace

int
main(int argc, char **argv) {
    const char *data = nullptr, *load_from = nullptr;
    std::string listen = "127.0.0.1:0";
    unsigned long records = 10000;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            s_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "dossier-grpc-server: %s needs a value\n",
                         argv[i]);
            s_usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (a == "--data") {
            data = v;
        } else if (a == "--load-from") {
            load_from = v;
        } else if (a == "--listen") {
            listen = v;
        } else if (a == "--records") {
            char *end = nullptr;
            records = std::strtoul(v, &end, 10);
            if (*end || end == v || records < 1 || records > 10000000) {
                std::fprintf(stderr,
                             "dossier-grpc-server: --records 1 to 10000000, "
                             "not '%s'\n",
                             v);
                return 2;
            }
        } else {
            std::fprintf(stderr, "dossier-grpc-server: unknown option '%s'\n",
                         argv[i - 1]);
            s_usage(stderr);
            return 2;
        }
    }
    if (!data) {
        s_usage(stderr);
        return 2;
    }
    if (mkdir(data, 0755) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "dossier-grpc-server: cannot create %s: %s\n",
                     data, std::strerror(errno));
        return 1;
    }
    Store store;
    int rc = mdb_env_create(&store.env);
    if (rc == 0) {
        rc = mdb_env_set_mapsize(store.env, (size_t)4 << 30);
    }
    if (rc == 0) {
        rc = mdb_env_set_maxreaders(store.env, 512);
    }
    if (rc == 0) {
        rc = mdb_env_open(store.env, data, 0, 0644);
    }
    if (rc != 0) {
        return s_fail(data, rc);
    }
    MDB_txn *txn = nullptr;
    rc = mdb_txn_begin(store.env, nullptr, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, nullptr, 0, &store.dbi);
    }
    if (rc == 0 && load_from) {
        LoadTxn load = {txn, store.dbi, 0};
        char err[512] = "";
        if (grpc_load_records(load_from, (unsigned)records, s_put, &load, err,
                              sizeof err) != 0) {
            std::fprintf(stderr, "dossier-grpc-server: loading from %s: %s\n",
                         load_from, err);
            mdb_txn_abort(txn);
            return 1;
        }
        rc = load.rc;
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        return s_fail("store", rc);
    }
    MDB_stat stat;
    MDB_txn *rtxn = nullptr;
    if (mdb_txn_begin(store.env, nullptr, MDB_RDONLY, &rtxn) != 0 ||
        mdb_stat(rtxn, store.dbi, &stat) != 0) {
        return s_fail("stat", EIO);
    }
    mdb_txn_abort(rtxn);

    /* Every thread gRPC starts inherits this mask; the signals are taken
       by sigwait below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    RecordsService service(store);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
        std::fprintf(stderr, "dossier-grpc-server: cannot listen on %s\n",
                     listen.c_str());
        return 1;
    }
    std::string host = listen.substr(0, listen.rfind(':'));
    std::printf("dossier-grpc-server: listening on %s:%d, %zu records, "
                "pid %ld\n",
                host.c_str(), port, (size_t)stat.ms_entries, (long)getpid());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    server->Shutdown();
    server->Wait();
    mdb_env_close(store.env);
    return 0;
}
