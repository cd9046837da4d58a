#!/usr/bin/env python3
"""A small MCP server (the official `mcp` SDK, 2.x) for the Envoy integration tests.

Streamable HTTP at /mcp on 127.0.0.1, stateless by default. Every tool, resource and prompt
handler appends one JSON line {"call": NAME, "arguments": {...}} to --log (flushed at once),
so a test can tell which calls reached the server and that a denied one never ran.

    server.py --port 0 --json-response --log calls.jsonl [--trace trace.jsonl] [--stateful]

Prints `READY <port>` on stdout once it is listening (--port 0 picks a free port).
--trace FILE writes one JSON line per HTTP exchange (method, path, request headers and body,
response status, headers and body) as the server saw it; `-` is stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

_log_file = None


def record(call: str, arguments: dict[str, Any]) -> None:
    """Append one call to the log file and flush it (before the handler answers)."""
    if _log_file is None:
        return
    _log_file.write(json.dumps({"call": call, "arguments": arguments}, sort_keys=True) + "\n")
    _log_file.flush()


def build_server() -> MCPServer:
    mcp = MCPServer("crm", version="1.0.0", log_level="WARNING")

    @mcp.tool()
    def search_customers(query: str) -> str:
        """Search customers by name."""
        record("search_customers", {"query": query})
        return f"found 2 customers matching {query!r}"

    @mcp.tool()
    def delete_customer(customer_id: str, region: str) -> str:
        """Delete a customer record."""
        record("delete_customer", {"customer_id": customer_id, "region": region})
        return f"deleted customer {customer_id} in {region}"

    @mcp.tool()
    def export_report(region: str) -> str:
        """Export the customer report of a region."""
        record("export_report", {"region": region})
        return f"report for {region}: 2 customers"

    @mcp.resource("crm://customers/{tenant}/{id}", name="customer_record", mime_type="application/json")
    def customer_record(tenant: str, id: str) -> str:
        """One customer record."""
        record("customer_record", {"tenant": tenant, "id": id})
        return json.dumps({"tenant": tenant, "id": id, "name": "Ada"})

    @mcp.prompt()
    def summarize(text: str) -> str:
        """Summarize a text."""
        record("summarize", {"text": text})
        return f"Summarize this in one sentence: {text}"

    return mcp


_TRACE_BODY_LIMIT = 4096


class Trace:
    """Raw ASGI middleware: one JSON line per HTTP exchange, as the server saw it."""

    def __init__(self, app: Any, out: Any) -> None:
        self.app = app
        self.out = out

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_body = bytearray()
        response: dict[str, Any] = {"status": None, "headers": {}, "body": bytearray()}

        async def traced_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        async def traced_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                response["body"].extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, traced_receive, traced_send)
        finally:
            entry = {
                "method": scope["method"],
                "path": scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope["query_string"] else ""),
                "request_headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
                "request_body": _body(bytes(request_body)),
                "status": response["status"],
                "response_headers": response["headers"],
                "response_body": _body(bytes(response["body"])),
            }
            self.out.write(json.dumps(entry) + "\n")
            self.out.flush()


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw[:_TRACE_BODY_LIMIT].decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


async def serve(args: argparse.Namespace) -> None:
    mcp = build_server()
    app: Any = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=args.json_response,
        stateless_http=not args.stateful,
        # Behind Envoy the Host header is the listener's; DNS-rebinding protection is for browsers.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    if args.trace:
        app = Trace(app, sys.stderr if args.trace == "-" else open(args.trace, "a", encoding="utf-8"))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    # A stateful session's GET stream stays open: do not wait for it on SIGTERM.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        print(f"READY {port}", flush=True)

    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    announcer.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as READY <port>)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json-response", dest="json_response", action="store_true", default=True,
                      help="answer each POST with application/json (default)")
    mode.add_argument("--sse", dest="json_response", action="store_false",
                      help="answer handshake-era POSTs with text/event-stream")
    parser.add_argument("--stateful", action="store_true",
                        help="stateful sessions (Mcp-Session-Id, GET stream, DELETE) instead of stateless")
    parser.add_argument("--log", help="append one JSON line per handled call")
    parser.add_argument("--trace", help="append one JSON line per HTTP exchange (- for stderr)")
    args = parser.parse_args()

    global _log_file
    if args.log:
        _log_file = open(args.log, "a", encoding="utf-8")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
