#!/usr/bin/env python3
"""An MCP agent for the Envoy integration tests: the official `mcp` SDK's own client.

    client.py --url http://127.0.0.1:PORT/mcp [--token TOKEN] [--mode auto|legacy|2026-07-28] ACTION
    ACTION:  list-tools | call TOOL JSON_ARGS | read-resource URI | get-prompt NAME JSON_ARGS

`mcp.Client` (which drives `ClientSession`) over `mcp.client.streamable_http.streamable_http_client`,
with our own httpx2 client: `Authorization: Bearer TOKEN`, 10 s timeouts, no auth provider (so a
401 starts no OAuth discovery). --mode is the SDK's `Client(mode=...)`: `auto` (the SDK default)
probes `server/discover` at 2026-07-28 and falls back to the initialize handshake; `legacy` is
the initialize handshake only; `2026-07-28` sends each request on its own without a probe.

Prints ONE JSON line on stdout and exits 0:
    {"ok": true, "result": ..., "http": [...]}
    {"ok": false, "status": S, "error": MSG, "code": C, "www_authenticate": W, "http": [...]}
`result`: tool names (list-tools); the text of the tool result (call, with "is_error"); the text
of the resource (read-resource); [{"role", "text"}] (get-prompt). `status` and
`www_authenticate` are those of the last response to a POST (null if none arrived: the SDK
turns an HTTP error into a JSON-RPC error without the status, so the client records responses
itself), `code` the JSON-RPC error code if any. `http` lists every
exchange: {"method", "mcp_method" (the JSON-RPC method of a POST), "status"}.
Exit 2 only for usage errors.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

TIMEOUT_SECONDS = 10.0


class Recorder:
    """httpx2 event hooks: what each exchange was, and the last response to a POST."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []
        self.last_post: httpx2.Response | None = None

    async def on_request(self, request: httpx2.Request) -> None:
        method = None
        if request.method == "POST":
            try:
                method = json.loads(request.content).get("method")
            except (ValueError, AttributeError, httpx2.RequestNotRead):
                pass
        self.exchanges.append({"method": request.method, "mcp_method": method, "status": None})

    async def on_response(self, response: httpx2.Response) -> None:
        for exchange in reversed(self.exchanges):
            if exchange["status"] is None and exchange["method"] == response.request.method:
                exchange["status"] = response.status_code
                break
        if response.request.method == "POST":
            self.last_post = response


def _leaf(exc: BaseException) -> BaseException:
    """The first non-group exception inside (anyio task groups wrap errors in ExceptionGroups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _text(blocks: Any) -> str:
    return "".join(getattr(block, "text", "") or "" for block in blocks)


async def run(args: argparse.Namespace, arguments: dict[str, Any] | None) -> dict[str, Any]:
    recorder = Recorder()
    headers = {}
    if args.token is not None:
        headers["Authorization"] = f"Bearer {args.token}"
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    http_client = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(TIMEOUT_SECONDS),
        event_hooks={"request": [recorder.on_request], "response": [recorder.on_response]},
    )
    out: dict[str, Any]
    try:
        with anyio.fail_after(3 * TIMEOUT_SECONDS):
            async with http_client:
                transport = streamable_http_client(args.url, http_client=http_client)
                async with Client(transport, mode=args.mode, read_timeout_seconds=TIMEOUT_SECONDS) as client:
                    out = {"ok": True, **await action(client, args, arguments)}
    except Exception as raised:  # noqa: BLE001 - every failure is reported as one JSON line
        exc = _leaf(raised)
        failed = recorder.last_post
        out = {
            "ok": False,
            "status": failed.status_code if failed is not None else None,
            "error": (exc.message if isinstance(exc, MCPError) else str(exc)) or type(exc).__name__,
            "code": exc.code if isinstance(exc, MCPError) else None,
            "www_authenticate": failed.headers.get("www-authenticate") if failed is not None else None,
        }
        if isinstance(exc, httpx2.HTTPStatusError):
            out["status"] = exc.response.status_code
            out["www_authenticate"] = exc.response.headers.get("www-authenticate")
        if not isinstance(exc, MCPError):
            out["exception"] = type(exc).__name__
    out["http"] = recorder.exchanges
    return out


async def action(client: Client, args: argparse.Namespace, arguments: dict[str, Any] | None) -> dict[str, Any]:
    if args.action == "list-tools":
        return {"result": [tool.name for tool in (await client.list_tools()).tools]}
    if args.action == "call":
        result = await client.call_tool(args.target, arguments)
        return {"result": _text(result.content), "is_error": bool(result.is_error)}
    if args.action == "read-resource":
        result = await client.read_resource(args.target)
        return {"result": "".join(getattr(c, "text", None) or getattr(c, "blob", "") for c in result.contents)}
    if args.action == "get-prompt":
        result = await client.get_prompt(args.target, arguments)
        return {"result": [{"role": m.role, "text": getattr(m.content, "text", None)} for m in result.messages]}
    raise AssertionError(args.action)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", help="sent as Authorization: Bearer TOKEN")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="an extra request header")
    parser.add_argument("--mode", default="auto", help="auto (default), legacy, or 2026-07-28")
    parser.add_argument("action", choices=["list-tools", "call", "read-resource", "get-prompt"])
    parser.add_argument("target", nargs="?", help="TOOL, URI or prompt NAME")
    parser.add_argument("json_args", nargs="?", help="JSON object of arguments")
    args = parser.parse_args()

    if args.action == "list-tools":
        if args.target is not None:
            parser.error("list-tools takes no arguments")
    elif args.target is None:
        parser.error(f"{args.action} needs a target")
    if args.action in ("call", "get-prompt"):
        try:
            arguments = json.loads(args.json_args) if args.json_args is not None else {}
        except ValueError as exc:
            parser.error(f"JSON_ARGS is not JSON: {exc}")
        if not isinstance(arguments, dict):
            parser.error("JSON_ARGS must be a JSON object")
    else:
        if args.json_args is not None:
            parser.error(f"{args.action} takes no JSON_ARGS")
        arguments = None
    if args.mode not in ("auto", "legacy", "2026-07-28"):
        parser.error("--mode is auto, legacy or 2026-07-28")

    print(json.dumps(anyio.run(run, args, arguments)), flush=True)


if __name__ == "__main__":
    main()
