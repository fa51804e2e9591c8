/*  grpc_bench.cc: dossier-grpc-bench, the load client of the gRPC
    baseline (dossier-grpc-server). As dossier-bench does for dossierd:
    --concurrency threads, each with its own channel (its own TCP
    connection) and one call in flight, Get of a random record
    "bench-NNNNNNN" of --records for --duration seconds, through the
    generated synchronous stub; the reply is decoded (GetReply, the
    report's bytes copied out), as libdossier decodes dossierd's.

    Prints the latencies and a "summary: key=value ..." line in
    dossier-bench's form; with --pid, the server's CPU time over the load
    (utime + stime of /proc/PID/stat) and per call. Exit 0 when the run
    completed (errors are counted), 1 when it could not run, 2 on a usage
    error. */
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "records.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Worker {
    std::vector<uint64_t> ns;
    uint64_t errors = 0;
    bool connected = false;
};

/*  The server's CPU time so far in clock ticks (utime + stime), -1 when
    unknown. */
long long
s_cpu_ticks(long pid) {
    if (pid <= 0) {
        return -1;
    }
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(f)),
                     std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (paren == std::string::npos) {
        return -1;
    }
    std::istringstream rest(text.substr(paren + 2));
    std::string field;
    long long utime = 0, stime = 0;
    /* After the name: state (3) ... utime (14), stime (15). */
    for (int k = 3; k <= 15 && rest >> field; k++) {
        if (k == 14) {
            utime = std::atoll(field.c_str());
        } else if (k == 15) {
            stime = std::atoll(field.c_str());
        }
    }
    return utime + stime;
}

double
s_pct(const std::vector<uint64_t> &sorted, double q) {
    if (sorted.empty()) {
        return 0;
    }
    size_t rank = (size_t)(q / 100.0 * (double)sorted.size() + 0.5);
    rank = rank < 1 ? 1 : rank > sorted.size() ? sorted.size() : rank;
    return (double)sorted[rank - 1] / 1000.0;
}

void
s_usage(FILE *f) {
    std::fprintf(f, "usage: dossier-grpc-bench --target HOST:PORT [options]\n"
                    "  --concurrency N   threads, each its own channel (1)\n"
                    "  --duration S      seconds of load (10)\n"
                    "  --records N       key space bench-0000000 .. (10000)\n"
                    "  --pid PID         server pid: report its CPU per call\n"
                    "  --label TEXT      a name for the summary line\n");
}

} // namespace

int
main(int argc, char **argv) {
    std::string target, label = "-";
    int concurrency = 1;
    double duration = 10;
    unsigned long records = 10000;
    long pid = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            s_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "dossier-grpc-bench: %s needs a value\n",
                         argv[i]);
            return 2;
        }
        std::string v = argv[++i];
        char *end = nullptr;
        if (a == "--target") {
            target = v;
        } else if (a == "--label") {
            label = v;
        } else if (a == "--duration") {
            duration = std::strtod(v.c_str(), &end);
            if (*end || duration <= 0 || duration > 86400) {
                std::fprintf(stderr, "dossier-grpc-bench: bad --duration\n");
                return 2;
            }
        } else if (a == "--concurrency" || a == "--records" || a == "--pid") {
            unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (*end || v.empty() || v[0] == '-') {
                std::fprintf(stderr, "dossier-grpc-bench: %s wants a number\n",
                             a.c_str());
                return 2;
            }
            if (a == "--concurrency") {
                if (n < 1 || n > 256) {
                    std::fprintf(stderr,
                                 "dossier-grpc-bench: --concurrency 1 to "
                                 "256\n");
                    return 2;
                }
                concurrency = (int)n;
            } else if (a == "--records") {
                if (n < 1 || n > 10000000) {
                    std::fprintf(stderr, "dossier-grpc-bench: --records 1 to "
                                         "10000000\n");
                    return 2;
                }
                records = n;
            } else {
                pid = (long)n;
            }
        } else {
            std::fprintf(stderr, "dossier-grpc-bench: unknown option '%s'\n",
                         a.c_str());
            s_usage(stderr);
            return 2;
        }
    }
    if (target.empty()) {
        s_usage(stderr);
        return 2;
    }

    std::vector<std::unique_ptr<dossierbench::Records::Stub>> stubs;
    for (int i = 0; i < concurrency; i++) {
        /* A distinct argument per channel, and no shared subchannel pool:
           each thread gets a TCP connection of its own, as each
           dossier-bench thread has its own socket. */
        grpc::ChannelArguments args;
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt("dossierbench.channel", i);
        stubs.push_back(
            dossierbench::Records::NewStub(grpc::CreateCustomChannel(
                target, grpc::InsecureChannelCredentials(), args)));
    }
    std::vector<Worker> workers((size_t)concurrency);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    Clock::time_point deadline;
    std::vector<std::thread> threads;
    for (int i = 0; i < concurrency; i++) {
        threads.emplace_back([&, i] {
            Worker &w = workers[(size_t)i];
            w.ns.reserve(1 << 18);
            std::mt19937_64 rng(0x10000000ull + (uint64_t)i);
            dossierbench::GetRequest request;
            dossierbench::GetReply reply;
            char id[32];
            /* Connect before the clock starts: one call. */
            {
                grpc::ClientContext ctx;
                ctx.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10));
                request.set_id("bench-0000000");
                w.connected = stubs[(size_t)i]->Get(&ctx, request, &reply).ok();
            }
            ready++;
            while (!go.load()) {
                std::this_thread::yield();
            }
            while (w.connected) {
                std::snprintf(id, sizeof id, "bench-%07u",
                              (unsigned)(rng() % records));
                request.set_id(id);
                grpc::ClientContext ctx;
                ctx.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10));
                Clock::time_point t0 = Clock::now();
                grpc::Status st = stubs[(size_t)i]->Get(&ctx, request, &reply);
                Clock::time_point t1 = Clock::now();
                if (st.ok() && !reply.report().empty()) {
                    w.ns.push_back((uint64_t)std::chrono::duration_cast<
                                       std::chrono::nanoseconds>(t1 - t0)
                                       .count());
                } else {
                    w.errors++;
                }
                if (t1 >= deadline) {
                    break;
                }
            }
        });
    }
    while (ready.load() < concurrency) {
        std::this_thread::yield();
    }
    long long cpu0 = s_cpu_ticks(pid);
    Clock::time_point t0 = Clock::now();
    deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(duration));
    go.store(true);
    for (auto &t : threads) {
        t.join();
    }
    double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    long long cpu1 = s_cpu_ticks(pid);
    std::vector<uint64_t> all;
    uint64_t errors = 0;
    int unconnected = 0;
    for (auto &w : workers) {
        all.insert(all.end(), w.ns.begin(), w.ns.end());
        errors += w.errors;
        unconnected += !w.connected;
    }
    if (unconnected) {
        std::fprintf(stderr,
                     "dossier-grpc-bench: %d of %d clients could not "
                     "reach %s\n",
                     unconnected, concurrency, target.c_str());
        return 1;
    }
    std::sort(all.begin(), all.end());
    double ops = (double)all.size() / seconds;
    double cpu_s = cpu0 >= 0 && cpu1 >= 0
                       ? (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK)
                       : -1;
    double cpu_us =
        cpu_s >= 0 && !all.empty() ? cpu_s * 1e6 / (double)all.size() : -1;
    double max_us = all.empty() ? 0 : (double)all.back() / 1000.0;
    std::printf("dossier-grpc-bench: %s, gRPC C++ %s sync stub, concurrency "
                "%d, %.1f s, %lu records\n",
                target.c_str(), grpc::Version().c_str(), concurrency, duration,
                records);
    std::printf("%-8s %10s %10s %9s %9s %9s %9s %7s\n", "op", "count", "ops/s",
                "p50_us", "p90_us", "p99_us", "max_us", "errors");
    std::printf("%-8s %10zu %10.0f %9.1f %9.1f %9.1f %9.1f %7" PRIu64 "\n",
                "get", all.size(), ops, s_pct(all, 50), s_pct(all, 90),
                s_pct(all, 99), max_us, errors);
    if (cpu_s >= 0) {
        std::printf("server CPU: %.2f s over the load, %.1f us per call\n",
                    cpu_s, cpu_us);
    }
    std::printf("summary: label=%s client=grpc grpc=%s c=%d mix=get=100 "
                "records=%lu seconds=%.2f ops=%zu ops_s=%.0f p50_us=%.1f "
                "p90_us=%.1f p99_us=%.1f max_us=%.1f errors=%" PRIu64
                " server_cpu_s=%.2f server_cpu_us_per_op=%.1f\n",
                label.c_str(), grpc::Version().c_str(), concurrency, records,
                seconds, all.size(), ops, s_pct(all, 50), s_pct(all, 90),
                s_pct(all, 99), max_us, errors, cpu_s, cpu_us);
    return 0;
}
