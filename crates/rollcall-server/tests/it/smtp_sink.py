#!/usr/bin/env python3
"""A real SMTP server for the digest tests (aiosmtpd), on 127.0.0.1 and a free port.

Prints {"port": N} once listening, then one JSON line per message received: envelope sender
and recipients, the decoded subject, plain-text and HTML parts, and whether it came over TLS.

  --mode none|starttls|implicit   how the connection is protected (default none)
  --cert FILE --key FILE          the server's certificate for starttls and implicit
  --user NAME --password WORD     require this login (refused otherwise, with 535)

Ends when its standard input closes (the test that started it ended).
"""

import argparse
import asyncio
import json
import socket
import ssl
import sys
from email import policy
from email.parser import BytesParser

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed for this python3: run `source scripts/setup.sh && "
        "ensure_aiosmtpd` (it runs `python3 -m pip install --user aiosmtpd`).\n"
    )
    sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()

    context = None
    if args.mode != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            raw = envelope.original_content or envelope.content
            if isinstance(raw, str):
                raw = raw.encode("utf-8")
            msg = BytesParser(policy=policy.default).parsebytes(raw)
            plain = msg.get_body(("plain",))
            html = msg.get_body(("html",))
            print(
                json.dumps(
                    {
                        "from": envelope.mail_from,
                        "to": envelope.rcpt_tos,
                        "subject": str(msg["subject"]),
                        "text": plain.get_content() if plain else None,
                        "html": html.get_content() if html else None,
                        "tls": session.ssl is not None
                        or server.transport.get_extra_info("ssl_object") is not None,
                    }
                ),
                flush=True,
            )
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        return AuthResult(success=ok, handled=False)

    def factory():
        options = {}
        if args.mode == "starttls":
            options.update(tls_context=context, require_starttls=True)
        if args.user:
            options.update(
                authenticator=authenticator,
                auth_required=True,
                # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS connection is one too.
                auth_require_tls=args.mode == "starttls",
            )
        return SMTP(Handler(), hostname="localhost", **options)

    loop = asyncio.new_event_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    wrap = context if args.mode == "implicit" else None
    loop.run_until_complete(loop.create_server(factory, sock=sock, ssl=wrap))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)

    async def until_stdin_closes():
        await loop.run_in_executor(None, sys.stdin.read)
        loop.stop()

    loop.create_task(until_stdin_closes())
    loop.run_forever()


if __name__ == "__main__":
    main()
