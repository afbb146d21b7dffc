"""URL converters: `<int:…>` path ids bounded to what an INTEGER column can hold, and text parts without
control characters, so that an absurd id or a NUL byte in a URL is simply not found (404) instead of a
database error (500). `<any_text:…>` takes whatever stands between two slashes, for a view that answers
malformed values itself."""

from werkzeug.routing import IntegerConverter, UnicodeConverter

#: The largest value of a 32-bit INTEGER column (PostgreSQL `integer`), the type of every id.
MAX_ID = 2**31 - 1


class PlainTextConverter(UnicodeConverter):
    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]", 1)


#: Werkzeug's own text converter, for the views that answer malformed values themselves.
AnyTextConverter = UnicodeConverter


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
