"""unknown-operation: a request naming an operation the service does not have is a client error in
AWS's shape, not moto's HTML crash page.

moto's BaseResponse.call_action raises NotImplementedError for an action its response class does
not define, which its server turns into HTTP 500 with an HTML body: an SDK reads that as a server
fault and retries it. AWS answers 400 with `UnknownOperationException` in the JSON protocols
(an `X-Amz-Target` header, which is what the gateway's callers use). This wraps call_action and
answers so, naming the operation; every other exception, and the query protocol, are unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import BaseResponse

_original_call_action = BaseResponse.call_action
_MARK = "action has not been implemented"


def _call_action(self: BaseResponse) -> Any:
    try:
        return _original_call_action(self)
    except NotImplementedError as error:
        target = self.headers.get("X-Amz-Target") if self.headers else None
        if _MARK not in str(error) or not target:
            raise
        operation = self._get_action()
        message = (
            f"The operation {operation!r} is not known to {self.service_name or 'this service'} here "
            "(no such operation in AWS, or one the local cloud's moto does not implement)"
        )
        headers = dict(self.response_headers)
        headers["Content-Type"] = self.headers.get("Content-Type") or "application/x-amz-json-1.1"
        headers["x-amzn-ErrorType"] = "UnknownOperationException"
        return 400, headers, json.dumps({"__type": "UnknownOperationException", "message": message})


def apply() -> None:
    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
