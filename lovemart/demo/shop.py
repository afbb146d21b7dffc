"""What the demo's shops sell and who gives to them: the six zones of the Adao report with realistic points
prices (1 point = 3 yuan), the caring enterprises and people (爱心企业 / 爱心人士) and the public funds."""

from dataclasses import dataclass

from lovemart.models.donations import DonorKind, FundKind


@dataclass(frozen=True)
class Goods:
    zone: str
    name: str
    unit: str
    points: int
    #: the shelf level the administrator restocks to, and the warning level
    shelf: int
    low: int
    #: a use-by date this many days after each stock-in (None: keeps)
    keeps_days: int | None = None


GOODS = (
    Goods("粮油区", "大米（10 公斤）", "袋", 15, 30, 6, 365),
    Goods("粮油区", "面粉（10 公斤）", "袋", 12, 30, 6, 240),
    Goods("粮油区", "菜籽油（5 升）", "桶", 20, 20, 4, 540),
    Goods("粮油区", "挂面（1 公斤）", "把", 3, 60, 10, 300),
    Goods("粮油区", "纯牛奶（12 盒）", "箱", 12, 16, 4, 150),
    Goods("粮油区", "食盐（500 克）", "袋", 1, 60, 10),
    Goods("粮油区", "酱油（1 升）", "瓶", 3, 30, 6, 540),
    Goods("日用品区", "毛巾", "条", 3, 40, 8),
    Goods("日用品区", "牙膏", "支", 2, 40, 8),
    Goods("日用品区", "卫生纸（10 卷）", "提", 6, 30, 6),
    Goods("日用品区", "暖水瓶", "个", 10, 10, 3),
    Goods("日用品区", "老花镜", "副", 5, 10, 2),
    Goods("洗化区", "洗衣粉（2 公斤）", "袋", 6, 30, 6),
    Goods("洗化区", "洗洁精（1.5 公斤）", "瓶", 3, 30, 6),
    Goods("洗化区", "香皂", "块", 1, 60, 10),
    Goods("洗化区", "洗发水", "瓶", 8, 20, 4),
    Goods("服装区", "棉袄", "件", 40, 8, 2),
    Goods("服装区", "劳保手套", "双", 1, 80, 15),
    Goods("服装区", "胶鞋", "双", 8, 16, 4),
    Goods("服装区", "儿童书包", "个", 12, 10, 3),
    Goods("农资区", "复合肥（40 公斤）", "袋", 50, 12, 3),
    Goods("农资区", "苹果套袋（100 个）", "包", 5, 40, 8),
    Goods("农资区", "果树剪", "把", 10, 10, 3),
    Goods("农资区", "地膜", "卷", 15, 12, 3),
    Goods("家用电器区", "电饭煲", "台", 100, 4, 1),
    Goods("家用电器区", "电热水壶", "台", 40, 5, 2),
    Goods("家用电器区", "电暖器", "台", 80, 4, 1),
    Goods("家用电器区", "台灯", "台", 25, 6, 2),
)

#: Goods the administrator stops reordering in the demo's last weeks, so the shop shows low stock.
RUNS_LOW = ("洗衣粉（2 公斤）", "电热水壶", "胶鞋")

#: (name, kind, contact, phone)
DONORS = (
    ("宜川县丰源果业专业合作社", DonorKind.ENTERPRISE, "合作社理事长", "0911-4621108"),
    ("陕西秦川粮油有限公司", DonorKind.ENTERPRISE, "公益部", "029-88620317"),
    ("宜川县惠民百货超市", DonorKind.ENTERPRISE, "店长", "0911-4623350"),
    ("刘志强（在外乡贤）", DonorKind.PERSON, "", "13891150263"),
    ("马秀芳（退休教师）", DonorKind.PERSON, "", "13772016689"),
    ("薛海军（返乡创业青年）", DonorKind.PERSON, "", "15109112274"),
)

#: (name, kind)
FUNDS = (
    ("扶贫局资助", FundKind.POVERTY_OFFICE),
    ("民政补贴", FundKind.CIVIL_AFFAIRS),
    ("社会捐款", FundKind.SOCIAL),
)


def cost_fen(goods: Goods, yuan_per_point: int) -> int:
    """What the shop pays a supplier for one: a little under its points value in yuan."""
    return goods.points * yuan_per_point * 100 * 9 // 10
