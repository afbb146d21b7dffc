"""Stocktake forms: start a count (one zone or the whole shop), the count sheet, and confirmation."""

from flask_babel import lazy_gettext as _l
from wtforms import FieldList, FormField, SelectField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import HiddenInput

from lovemart.forms.base import LoveMartForm, Range, WholeNumberField, options
from lovemart.forms.goods import LineForm

#: The zone choice meaning "the whole shop".
WHOLE_SHOP = "all"


class StartStocktakeForm(LoveMartForm):
    zone = SelectField(_l("盘点范围"), default=WHOLE_SHOP)

    def __init__(self, *args, zones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.zone.choices = options([(WHOLE_SHOP, _l("整个超市")), *((str(z.id), z.name) for z in zones)])

    @property
    def zone_id(self) -> int | None:
        return None if self.zone.data == WHOLE_SHOP else int(self.zone.data)


class CountLineForm(LineForm):
    """One product's counted quantity; left empty, the product is not counted and stays as it is."""

    product_id = WholeNumberField(widget=HiddenInput(), validators=[InputRequired()])
    counted = WholeNumberField(
        _l("实盘数量"),
        validators=[Optional(), Range(min=0, max=1_000_000, below=_l("盘点数量不能为负数。"))],
    )


class CountForm(LoveMartForm):
    lines = FieldList(FormField(CountLineForm))

    def counts(self) -> dict[int, int | None]:
        return {line.form.product_id.data: line.form.counted.data for line in self.lines}


class ConfirmForm(LoveMartForm):
    """Only the CSRF token: confirming takes no input but must come from our own page."""
