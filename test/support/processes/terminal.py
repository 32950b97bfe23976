"""A real pseudo-terminal for tests: runs a command as the foreground process group of a
new terminal, copies what it prints to stdout, and types what arrives on stdin:
"ctrl-c" types ^C (the terminal then sends SIGINT to the whole foreground group, as a
person's Ctrl-C does). When the command ends, prints "[terminal] exit <code> <signal>".

    python3 terminal.py <command> [args...]
"""
import os
import pty
import select
import signal
import sys

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

out = sys.stdout.buffer
status = None
stdin_open = True
while True:
    readable = [fd] + ([sys.stdin] if stdin_open else [])
    ready, _, _ = select.select(readable, [], [], 0.1)
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            out.write(data)
            out.flush()
        elif status is not None:
            break
    if sys.stdin in ready:
        line = sys.stdin.readline()
        if not line:
            stdin_open = False
        elif line.strip() == "ctrl-c":
            os.write(fd, b"\x03")
    if status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
    if status is not None and fd not in ready:
        # The command is gone; drain what is left, then stop.
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            break

code = os.waitstatus_to_exitcode(status)
sig = -code if code < 0 else 0
out.write(f"\n[terminal] exit {code if code >= 0 else 128 + sig} {signal.Signals(sig).name if sig else '-'}\n".encode())
out.flush()
sys.exit(code if code >= 0 else 128 + sig)
