"""An HTTP client that reads its replies late: COUNT pipelined POSTs on one
connection and no read until a line arrives on stdin. Node cannot shrink a
TCP socket's buffers, and on loopback the kernel takes up to 4 MiB of a
reply into the server's send buffer at once (net.ipv4.tcp_wmem), so one
2 MiB reply never stays pending: the replies of several pipelined requests
do.

  slow-reader.py PORT PATH COUNT < commands
The first stdin line names the body file. Prints "sent" once the requests
are written, waits for the next stdin line, then reads the replies and
prints "STATUS LENGTH SHA256" for each, or "closed" if the server hung up.
"""
import hashlib
import socket
import sys

port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = open(sys.stdin.readline().strip(), "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
request = (
    b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: %d\r\n\r\n"
    % (path.encode(), len(body))
    + body
)
for _ in range(count):
    s.sendall(request)
print("sent", flush=True)
sys.stdin.readline()
data = b""
try:
    for _ in range(count):
        while True:
            head = data.find(b"\r\n\r\n")
            if head >= 0:
                lines = data[:head].decode().split("\r\n")
                length = next(int(l.split(":")[1]) for l in lines if l.lower().startswith("content-length:"))
                if len(data) >= head + 4 + length:
                    payload = data[head + 4 : head + 4 + length]
                    data = data[head + 4 + length :]
                    print("%s %d %s" % (lines[0].split()[1], length, hashlib.sha256(payload).hexdigest()), flush=True)
                    break
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionResetError
            data += chunk
except (ConnectionResetError, BrokenPipeError):
    print("closed", flush=True)
