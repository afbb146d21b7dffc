"""URL converters: `<int:…>` path ids bounded to what an INTEGER column can hold, so that an absurd id in a
URL is simply not found (404) instead of a database overflow error (500)."""

from werkzeug.routing import IntegerConverter

#: The largest value of a 32-bit INTEGER column (PostgreSQL `integer`), the type of every id.
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
