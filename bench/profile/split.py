"""Where ferry's CPU goes per request: perf stacks (perf script output on
stdin) sorted into the parts of a request's path. Each sample counts once,
for the first part (top to bottom of this list) any frame of its stack
names, so a sample in the reply path's microtasks counts as reply, not as
the code it called. Prints one markdown table.

  perf script -i perf.data | python3 split.py "daemon"
"""
import collections
import re
import sys

PARTS = [
    ("JIT compiler (V8 threads)", r"OptimizingCompileDispatcher|compiler::Pipeline|Builtins_CompileLazy|Compiler::Compile"),
    ("garbage collection", r"Heap::|Scavenger|ConcurrentMarking|MarkCompact|Sweeper|MinorMS|IncrementalMarking"),
    ("control plane and stats (gRPC)", r"@grpc|protobufjs|proto-loader|controlplane/|signals|stats\.js|status-view"),
    ("reply: descriptor in, answer, HTTP write", r"ferry::Poller::OnPoll|onReply|ReplyOut|reply-out"),
    ("injection: descriptor out", r"JS:\*?dispatch |InstanceWrap::Send|ferry_endpoint_send"),
    ("body into the pool", r"body-stream|streamInto|Body\.write|injector\.js:.*write"),
    ("fastify (routes other than the fast door)", r"node_modules/fastify|find-my-way|avvio"),
    ("gateway serve (fast door, exchange)", r"fast-door|exchange\.js|gateway/http\.js"),
    ("HTTP parsing (llhttp, node:http)", r"llhttp|parserOnHeadersComplete|_http_incoming|parserOnIncoming|_http_common|_http_server"),
    ("handler (the function's own code)", r"/functions/|handler"),
    ("native endpoint calls (addon) and runtime", r"instance-loop|outcome|json-body|InstanceWrap|ferry_instance|runInstance"),
    ("event loop and syscalls (libuv, kernel)", r"uv__io_poll|epoll|\[k\]|do_syscall"),
]

counts = collections.Counter()
total = 0
stack = []


def flush():
    global total
    if not stack:
        return
    total += 1
    text = "\n".join(stack)
    for name, rx in PARTS:
        if re.search(rx, text):
            counts[name] += 1
            return
    counts["other"] += 1


for line in sys.stdin:
    if not line.strip():
        flush()
        stack.clear()
    elif line[0] in " \t":
        stack.append(line.strip())
flush()
title = sys.argv[1] if len(sys.argv) > 1 else "samples"
print(f"| {title}: part of the request path | share of on-CPU samples |")
print("|---|---|")
for name, n in counts.most_common():
    print(f"| {name} | {100 * n / max(total, 1):.1f}% |")
print(f"| (samples) | {total} |")
