"""The sections of a daily report: each one's heading, with the base of its figures, and the
table its columns are described by (warehouse/tables.py), so a rate never appears without what it
is a rate of."""

CAUSED_SECTION = "restated_by_data_landed_this_day"
SECTIONS = {
    "daily_revenue": ("Revenue of this day (payments and refunds of the day, cash basis)",
                      "kpi_daily_revenue"),
    "vendor_payment_success": ("Payment success by vendor (payments of this day)",
                               "kpi_vendor_payment_success"),
    "order_to_payment": ("Order to payment (orders placed this day)", "kpi_order_to_payment"),
    "refund_rate": ("Refunds: refund_rate of the orders first paid this day; value_rate = this "
                    "day's refunds / this day's gross", "kpi_refund_rate"),
    "late_arrivals": ("Live ingestion of this day (as ingestion day)", "kpi_late_arrivals"),
    "order_daily": ("Orders and payments by vendor (business day)", "fact_order_daily"),
    "vendor_feed": ("Vendor feeds of this ingestion day", "vendor_feed_daily"),
    "restatements": ("Restatements of this day's figures (by data that landed later)",
                     "kpi_restatements"),
    CAUSED_SECTION: ("Days restated by data that landed this day", "kpi_restatements"),
    "top_products": ("Top products: all history to date, not this day alone", "kpi_top_products"),
}  # fmt: skip
