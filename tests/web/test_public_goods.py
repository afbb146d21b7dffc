"""The villager's read-only catalogue behind the card's QR code."""

from tests.points_helpers import carded_household, points_village
from tests.shop_helpers import make_product
from tests.villager import page


def test_goods_page_lists_products_by_zone_with_prices(app, client, session):
    village_id = points_village()
    _, token = carded_household(village_id)
    make_product(village_id, "大米", 30, stock=5)
    make_product(village_id, "洗衣粉", 8, zone="洗化区")  # none in stock
    response = page(client, token, "/goods")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "粮油区" in text and "大米（袋）" in text and "30 分" in text
    assert "洗衣粉" in text and "暂缺" in text
    assert 'href="/me/goods"' in page(client, token).get_data(as_text=True)


def test_goods_page_of_a_dead_token_is_the_invalid_page(app, client, session):
    dead = page(client, "x" * 32, "/goods")
    unknown = client.get("/c/" + "y" * 32)
    assert dead.status_code == unknown.status_code == 404
    assert dead.data == unknown.data


def test_goods_page_shows_only_the_cards_village(app, client, session):
    a, b = points_village("a"), points_village("b")
    _, token = carded_household(a)
    make_product(b, "别村的油", 40, stock=3)
    assert "别村的油" not in page(client, token, "/goods").get_data(as_text=True)


def test_goods_page_says_so_when_the_shop_has_nothing_yet(app, client, session):
    village_id = points_village()
    _, token = carded_household(village_id)
    response = page(client, token, "/goods")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "超市还没有上架商品。" in text and "上架后会显示在这里" in text
    assert "<h2>" not in text  # no empty zone headings (the village has its six zones)
    make_product(village_id, "大米", 30)
    assert "超市还没有上架商品。" not in page(client, token, "/goods").get_data(as_text=True)
