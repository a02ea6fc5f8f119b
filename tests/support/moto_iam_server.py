"""Runs a moto server (`python moto_iam_server.py HOST PORT`) whose IAM signature check sees the
query string as the client signed it.

moto 5.0.11 recomputes a request's SigV4 signature from the *decoded* query string, while
botocore signs the encoded one, so any signed request with an encoded character in a query value
(ListObjectsV2 with Prefix=dumps-manifest/ sends prefix=dumps-manifest%2F) fails with
SignatureDoesNotMatch once authentication is on. This re-encodes the query values (as
botocore does: RFC 3986, only -_.~ unescaped) before moto computes the signature. Authorization
itself is moto's, untouched. Dev-only (tests/support/iam_moto.py starts it)."""

from __future__ import annotations

import sys
from urllib.parse import quote, unquote


def _encoded(path: str) -> str:
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        pairs.append(quote(unquote(key), safe="-_.~") + eq + quote(unquote(value), safe="-_.~"))
    return base + "?" + "&".join(pairs)


def main(host: str, port: str) -> None:
    from moto.iam import access_control
    from moto.server import main as moto_main

    original = access_control.IAMRequestBase.__init__

    def __init__(self, account_id, method, path, *args, **kwargs):  # noqa: N807
        original(self, account_id, method, _encoded(path), *args, **kwargs)

    access_control.IAMRequestBase.__init__ = __init__
    moto_main(["-H", host, "-p", port])


if __name__ == "__main__":
    main(*sys.argv[1:3])
