"""`createProduct`, `listProducts` (with stock levels), `stockIn`."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.services import inventory
from lovemart.services.inventory import ProductInput, StockInLine
from lovemart.web.api.schemas import ApiError, PageArgs, id_field, page_body, page_of
from lovemart.web.context import working_village, working_village_id

blp = Blueprint("api_goods", __name__, url_prefix="", description="Goods and stock (商品与库存)")


class ProductSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    zone_id = id_field(required=True, metadata={"description": "One of the village's zones (粮油区 …)."})
    unit = fields.String(required=True, validate=validate.Length(min=1, max=16), metadata={"example": "袋"})
    points_price = fields.Integer(required=True, validate=validate.Range(min=1, max=100000))
    barcode = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    low_stock = fields.Integer(
        load_default=5,
        validate=validate.Range(min=0, max=100000),
        metadata={"description": "At or below this stock the product is flagged as low."},
    )
    active = fields.Boolean(load_default=True)
    stock = fields.Integer(
        dump_only=True, metadata={"description": "Current stock level (sum of its movements)."}
    )
    is_low = fields.Function(lambda p: p.stock <= p.low_stock, dump_only=True)


class ProductQuery(PageArgs):
    q = fields.String(
        load_default="", validate=validate.Length(max=64), metadata={"description": "Name or barcode."}
    )
    zone_id = id_field()
    include_inactive = fields.Boolean(load_default=False)


ProductPage = page_of(ProductSchema, "ProductPage")


class StockInLineSchema(Schema):
    product_id = id_field(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    use_by = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "Use-by date of perishables."}
    )


class StockInSchema(Schema):
    lines = fields.List(
        fields.Nested(StockInLineSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Where the goods came from (donations and purchases have their own records)."
        },
    )


class MovementSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    kind = fields.String()
    quantity = fields.Integer()
    stock_after = fields.Integer()
    use_by = fields.Date(allow_none=True)


class StockInResult(Schema):
    movements = fields.List(fields.Nested(MovementSchema))


@blp.route("/products/", methods=["GET"])
@require(Permission.SHOP_READ)
@blp.doc(operationId="listProducts")
@blp.arguments(ProductQuery(), location="query", as_kwargs=True)
@blp.response(200, ProductPage)
def list_products(q, page, per_page, include_inactive, zone_id=None, village=None):
    """The village's products in zone and name order, each with its current stock level."""
    result = inventory.catalogue_page(
        db.session,
        village_id=working_village_id(),
        zone_id=zone_id,
        search=q,
        active_only=not include_inactive,
        page=page,
        per_page=per_page,
    )
    return page_body(result)


@blp.route("/products/", methods=["POST"])
@require(Permission.SHOP_WRITE)
@blp.doc(operationId="createProduct")
@blp.arguments(ProductSchema())
@blp.response(201, ProductSchema)
@blp.alt_response(409, schema=ApiError, description="Refused by a rule of the shop.")
def create_product(body):
    """Add a product to the catalogue with stock 0; stock only ever comes in through stock-ins."""
    village = working_village()
    with unit_of_work() as session:
        product = inventory.create_product(
            session, actor=current_actor(), village_id=village.id, data=ProductInput(**body)
        )
        product_id = product.id
    return inventory.get_product(db.session, village_id=village.id, product_id=product_id)


@blp.route("/stock-ins/", methods=["POST"])
@require(Permission.SHOP_WRITE)
@blp.doc(operationId="stockIn")
@blp.arguments(StockInSchema())
@blp.response(201, StockInResult)
def stock_in(body):
    """进货: goods received into stock, one movement per line. Donations of goods and purchases from a fund
    are recorded on their own pages, so that the goods stay traceable to the donor or the fund."""
    village = working_village()
    with unit_of_work() as session:
        movements = inventory.stock_in(
            session,
            actor=current_actor(),
            village_id=village.id,
            lines=[StockInLine(**line) for line in body["lines"]],
            note=body["note"],
        )
        rows = [
            {
                "id": m.id,
                "product_id": m.product_id,
                "kind": m.kind,
                "quantity": m.quantity,
                "stock_after": m.stock_after,
                "use_by": m.use_by,
            }
            for m in movements
        ]
    return {"movements": rows}
