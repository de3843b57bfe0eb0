"""Free text that clients send: normalised, bounded, free of invisible controls.

Every free-text field of a request model is ``Annotated[str, Text(...)]``:

- the text is normalised to NFC (and, when it may hold several lines, "\\r\\n"
  and "\\r" become "\\n"), then stripped, and only then are its length (in
  characters) and lines counted, so "é" typed either way counts once;
- it is refused (a 400 naming the field) if it holds a control character
  (NUL, C0, DEL, C1), a lone surrogate, a line or paragraph separator, or a
  Unicode bidi override or isolate (U+202A-U+202E, U+2066-U+2069): those make
  text display differently from what it holds, in the admin's list or on a
  packing slip;
- text of several lines (``max_lines`` > 1, a description) may also hold
  newlines and tabs, and no more than ``max_lines`` lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

BIDI_CONTROLS: Final = "\u202a-\u202e\u2066-\u2069"
# Cc is exactly \x00-\x1f and \x7f-\x9f; Zl and Zp are U+2028 and U+2029; Cs the surrogates.
_REFUSED_IN_LINE: Final = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}\ud800-\udfff]")
_REFUSED_IN_LINES: Final = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}\ud800-\udfff]")
_LINE_BREAK: Final = re.compile(r"\r\n?")


def _nfc(value: object) -> object:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _nfc_lines(value: object) -> object:
    return _LINE_BREAK.sub("\n", unicodedata.normalize("NFC", value)) if isinstance(value, str) else value


@dataclass(frozen=True)
class Text:
    """Constraints of one free-text field; see the module's docstring."""

    max_length: int
    min_length: int = 1
    max_lines: int = 1

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        bounded = core_schema.str_schema(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        checked = core_schema.no_info_after_validator_function(self._check, bounded)
        return core_schema.no_info_before_validator_function(_nfc if self.max_lines == 1 else _nfc_lines, checked)

    def _check(self, value: str) -> str:
        refused = (_REFUSED_IN_LINE if self.max_lines == 1 else _REFUSED_IN_LINES).search(value)
        if refused:
            raise PydanticCustomError(
                "unsafe_text",
                "must not contain control characters, line separators or bidi overrides (found U+{code})",
                {"code": f"{ord(refused.group()):04X}"},
            )
        if value.count("\n") >= self.max_lines:
            raise PydanticCustomError(
                "too_many_lines", "must have at most {max_lines} lines", {"max_lines": self.max_lines}
            )
        return value
