#!/usr/bin/env python3
"""Records what a real IMAP server sends for the commands Mailroom uses: the parser's test tables.

    scripts/record-transcripts.py SERVER HOST PORT USER PASSWORD OUTDIR

Logs in over STARTTLS as USER (a fresh, empty mailbox), makes a folder with a non-ASCII name, appends a few
small messages and runs greeting, CAPABILITY, LOGIN, AUTHENTICATE PLAIN, LIST, STATUS, SELECT, EXAMINE,
UID SEARCH (and ESEARCH when offered), UID FETCH of metadata and of bodies, an EXPUNGE, a SELECT of a
missing mailbox and LOGOUT. Each exchange's server bytes, exactly as received (after TLS), go to
OUTDIR/<name>.txt; OUTDIR/commands.txt lists what was sent for each (the password never appears).
SERVER names the recording in commands.txt only: the commands are the same for every server, except the
folder name, which is built from the hierarchy delimiter and namespace the server reports.
"""
import base64
import os
import re
import socket
import ssl
import sys

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


def message(number, subject, body):
    return (
        f"From: Sender {number} <sender{number}@example.test>\r\n"
        f"To: recipient@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Mon, 07 Dec 2026 10:0{number}:00 +0000\r\n"
        f"Message-ID: <transcript-{number}@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


class Session:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=15)
        self.buffer = b""
        self.counter = 0
        self.host = host

    def read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line + b"\r\n"

    def read_exact(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection inside a literal")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_response(self, tag=None):
        """Server bytes up to and including the tagged completion of `tag` (or one line for the greeting),
        literals included; stops early at a continuation request when `tag` is None-terminated by caller."""
        out = b""
        while True:
            line = self.read_line()
            out += line
            while (match := LITERAL.search(line)) is not None:
                out += self.read_exact(int(match.group(1)))
                line = self.read_line()
                out += line
            if tag is None or line.startswith(tag.encode() + b" "):
                return out
            if line.startswith(b"+"):
                return out

    def next_tag(self):
        self.counter += 1
        return f"T{self.counter:03d}"

    def command(self, text):
        tag = self.next_tag()
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        return self.read_response(tag)

    def starttls(self):
        answer = self.command("STARTTLS")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        return answer


def main():
    server, host, port, user, password, outdir = sys.argv[1:7]
    port = int(port)
    os.makedirs(outdir, exist_ok=True)
    log = []

    def save(name, sent, data):
        with open(os.path.join(outdir, f"{name}.txt"), "wb") as f:
            f.write(data)
        log.append(f"{name}: {sent}")

    s = Session(host, port)
    save("greeting", "(connect)", s.read_response())
    save("capability-plain", "CAPABILITY", s.command("CAPABILITY"))
    save("starttls", "STARTTLS", s.starttls())
    save("capability-before-login", "CAPABILITY", s.command("CAPABILITY"))
    save("login", "LOGIN <user> <password>", s.command(f'LOGIN "{user}" "{password}"'))
    capabilities = s.command("CAPABILITY")
    save("capability-after-login", "CAPABILITY", capabilities)
    caps = set(capabilities.decode(errors="replace").upper().split())

    namespace = s.command("NAMESPACE")
    save("namespace", "NAMESPACE", namespace)
    match = re.search(rb'\* NAMESPACE \(\("([^"]*)" "(.)"\)', namespace)
    prefix, delimiter = (match.group(1).decode(), match.group(2).decode()) if match else ("", "/")
    # "Rechnungen/Größe" in modified UTF-7 (RFC 3501 §5.1.3), with the server's delimiter and personal prefix.
    folder = f"{prefix}Rechnungen{delimiter}Gr&APYA3w-e"
    save("create", f'CREATE "{folder}"', s.command(f'CREATE "{folder}"'))

    def append(mailbox, number, subject, body, name=None):
        data = message(number, subject, body)
        tag = s.next_tag()
        s.sock.sendall(f'{tag} APPEND "{mailbox}" (\\Seen) {{{len(data)}}}\r\n'.encode())
        answer = s.read_response(tag)
        if answer.startswith(b"+"):
            s.sock.sendall(data + b"\r\n")
            answer += s.read_response(tag)
        if name:
            save(name, f'APPEND "{mailbox}" (\\Seen) {{{len(data)}}} + message', answer)

    append("INBOX", 1, "First", "Hello, first message.", name="append")
    append("INBOX", 2, "Second", "Grüße aus dem zweiten.")
    append("INBOX", 3, "Third", "* 3 EXISTS\r\nT999 OK a body line that looks like a response")
    append(folder, 4, "Rechnung 1", "Betrag: 12,00 €")
    append(folder, 5, "Rechnung 2", "Betrag: 30,00 €")

    save("list", 'LIST "" "*"', s.command('LIST "" "*"'))
    status_items = "MESSAGES UIDNEXT UIDVALIDITY UNSEEN" + (" HIGHESTMODSEQ" if "CONDSTORE" in caps else "")
    save("status", f"STATUS INBOX ({status_items})", s.command(f"STATUS INBOX ({status_items})"))
    save("status-folder", f'STATUS "{folder}" ({status_items})', s.command(f'STATUS "{folder}" ({status_items})'))
    save("examine", f'EXAMINE "{folder}"', s.command(f'EXAMINE "{folder}"'))
    save("select", "SELECT INBOX", s.command("SELECT INBOX"))
    save("uid-search", "UID SEARCH UID 1:*", s.command("UID SEARCH UID 1:*"))
    save("uid-search-empty", "UID SEARCH UID 1000:*", s.command("UID SEARCH UID 1000:*"))
    if "ESEARCH" in caps:
        text = "UID SEARCH RETURN (MIN MAX COUNT ALL) UID 1:*"
        save("esearch", text, s.command(text))
        text = "UID SEARCH RETURN (MIN MAX COUNT ALL) UID 1000:*"
        save("esearch-empty", text, s.command(text))
    text = "UID FETCH 1:* (UID RFC822.SIZE FLAGS INTERNALDATE)"
    save("fetch-metadata", text, s.command(text))
    text = "UID FETCH 2:3 (UID BODY.PEEK[])"
    save("fetch-bodies", text, s.command(text))
    save("store", "UID STORE 1 +FLAGS.SILENT (\\Deleted)", s.command("UID STORE 1 +FLAGS.SILENT (\\Deleted)"))
    save("expunge", "EXPUNGE", s.command("EXPUNGE"))
    save("select-missing", 'SELECT "NoSuchFolder"', s.command('SELECT "NoSuchFolder"'))
    save("logout", "LOGOUT", s.command("LOGOUT"))

    # A refused LOGIN, then AUTHENTICATE PLAIN on a second connection: with SASL-IR in one line, else after
    # a continuation request.
    s = Session(host, port)
    s.read_response()
    s.starttls()
    save("login-failed", "LOGIN <user> <wrong password>", s.command(f'LOGIN "{user}" "wrong-{password}"'))
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    if "SASL-IR" in caps:
        save("authenticate-plain", "AUTHENTICATE PLAIN <initial response>", s.command(f"AUTHENTICATE PLAIN {token}"))
    else:
        tag = s.next_tag()
        s.sock.sendall(f"{tag} AUTHENTICATE PLAIN\r\n".encode())
        answer = s.read_response(tag)
        s.sock.sendall(f"{token}\r\n".encode())
        answer += s.read_response(tag)
        save("authenticate-plain", "AUTHENTICATE PLAIN + <response>", answer)
    s.command("LOGOUT")

    with open(os.path.join(outdir, "commands.txt"), "w") as f:
        f.write(f"# {server}: what was sent for each transcript (scripts/record-transcripts.py)\n")
        f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    main()
