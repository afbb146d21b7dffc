"""Builders for the shop: products in the village's zones, stocked through a stock-in."""

from lovemart.db import unit_of_work
from lovemart.services import inventory
from lovemart.services.inventory import ProductInput, StockInLine


def make_product(
    village_id: int, name: str, price: int, *, stock: int = 0, zone: str = "粮油区", unit="袋"
) -> int:
    with unit_of_work() as session:
        zone_id = next(z.id for z in inventory.zones(session, village_id=village_id) if z.name == zone)
        product = inventory.create_product(
            session,
            actor=None,
            village_id=village_id,
            data=ProductInput(name=name, zone_id=zone_id, unit=unit, points_price=price),
        )
        if stock:
            inventory.stock_in(
                session, actor=None, village_id=village_id, lines=[StockInLine(product.id, stock)]
            )
        return product.id
