"""Fact, dimension and KPI statements. Values are always query parameters ($start, $end, $run_id).
Sums of money are rounded to the cent and averages to 4 decimals: floating-point sums depend on the
order a parallel engine adds them in, and a figure must not change in its last bit between runs.

Written once, in DuckDB SQL kept to what BigQuery also has (CASE inside aggregates rather
than FILTER, EXISTS rather than row-value IN, date_diff rather than epoch arithmetic, a
WHERE on every DELETE); `warehouse/dialect.py` translates them for BigQuery.

Facts read staging for one business-day window [$start, $end). fact_orders recomputes, from
all staging, every order the window touches and MERGEs it, guarded by event time: the result
does not depend on the order in which windows (or events) arrive. An order is identified by
(vendor, order_id): vendors draw order ids independently and do collide (the data pack's live
day has 28 ids created by two vendors).
"""

from __future__ import annotations

from commercepulse.warehouse.gold_sql import CUSTOMER_USER_LINK
from commercepulse.warehouse.lateness import final_overall, final_per_vendor
from commercepulse.warehouse.schema import EVENT_TABLES, FACTS

WINDOW = "event_date >= $start AND event_date < $end"


def _replace(table: str, select: str, col: str = "event_date") -> list[str]:
    return [
        f"DELETE FROM {table} WHERE {col} >= $start AND {col} < $end",
        f"INSERT INTO {table} BY NAME {select}",
    ]


FACT_PAYMENTS = _replace(
    "fact_payments",
    f"""
SELECT p.event_id, p.event_date, CAST(p.paid_time AS DATE) AS paid_date, p.paid_time, p.vendor, p.order_id,
       p.status, p.amount, p.currency, p.amount_ngn, p.fx_rate, p.fx_rate_date, p.method, p.transaction_ref,
       CASE WHEN d.ids IS NULL THEN p.event_id ELSE p.event_id || ',' || d.ids END AS event_ids, $run_id AS run_id
FROM stg_payments p
LEFT JOIN (SELECT duplicate_of, string_agg(event_id, ',' ORDER BY event_id NULLS FIRST) AS ids FROM stg_payments
           WHERE {WINDOW} AND duplicate_of IS NOT NULL GROUP BY duplicate_of) d ON d.duplicate_of = p.event_id
WHERE p.{WINDOW.replace(" AND ", " AND p.")} AND p.duplicate_of IS NULL""",
)

FACT_REFUNDS = _replace(
    "fact_refunds",
    f"""
SELECT event_id, event_date, CAST(refund_time AS DATE) AS refund_date, refund_time, vendor, order_id, amount,
       currency, amount_ngn, reason, lists_items, event_id AS event_ids, $run_id AS run_id
FROM stg_refunds WHERE {WINDOW}""",
)

FACT_SHIPMENTS = _replace(
    "fact_shipments",
    f"""
SELECT event_id, history_index, event_date, status_time, vendor, order_id, status, tracking, carrier,
       event_id AS event_ids, $run_id AS run_id
FROM stg_shipments WHERE {WINDOW}""",
)

#: The window's orders of one key bucket: a big window's `fact_orders` runs as `$parts` MERGEs over
#: disjoint buckets of its orders, not over sub-windows of its days. An order touched on days of
#: two sub-windows was merged twice in one transaction, the second time updating a row the first
#: inserted, and DuckDB 1.5.5 can fail there ("Attempted to dereference shared_ptr that is
#: NULL!" in LocalStorage::Update; it did on a year at 20k events a day). Each table's rows are
#: bucketed before the UNION, so its distinct set holds one bucket's keys.
_TOUCHED = " UNION ".join(
    f"SELECT vendor, order_id FROM {t} WHERE {WINDOW} AND order_id IS NOT NULL"
    " AND hash(vendor, order_id) % CAST($parts AS UBIGINT) = CAST($part AS UBIGINT)"
    for t in EVENT_TABLES
)

ORDER_STATE = f"""
WITH touched AS ({_TOUCHED}),
o AS (SELECT x.* FROM stg_orders x JOIN touched USING (vendor, order_id) WHERE true
      QUALIFY row_number() OVER (PARTITION BY x.vendor, x.order_id ORDER BY x.order_time DESC, x.event_id DESC) = 1),
pay AS (SELECT x.vendor, x.order_id, min(CASE WHEN x.status = 'SUCCESS' THEN x.paid_time END) AS first_paid_time,
               round(coalesce(sum(CASE WHEN x.status = 'SUCCESS' THEN x.amount_ngn END), 0), 2) AS paid_ngn
        FROM stg_payments x JOIN touched USING (vendor, order_id) WHERE x.duplicate_of IS NULL
        GROUP BY x.vendor, x.order_id),
ref AS (SELECT x.vendor, x.order_id, round(sum(x.amount_ngn), 2) AS refunded_ngn, count(*) AS refund_count,
               bool_or(x.lists_items) AS lists
        FROM stg_refunds x JOIN touched USING (vendor, order_id) GROUP BY x.vendor, x.order_id),
ev AS (
  SELECT x.order_id, x.vendor, x.order_time AS t, x.event_id, 'CREATED' AS st, 1 AS rk
  FROM stg_orders x JOIN touched USING (vendor, order_id)
  UNION ALL SELECT x.order_id, x.vendor, x.paid_time, x.event_id,
         CASE WHEN x.status = 'SUCCESS' THEN 'PAID' ELSE 'PAYMENT_FAILED' END, 2
  FROM stg_payments x JOIN touched USING (vendor, order_id)
  UNION ALL SELECT x.order_id, x.vendor, x.status_time, x.event_id, 'SHIPMENT_' || coalesce(x.status, 'UNKNOWN'), 3
  FROM stg_shipments x JOIN touched USING (vendor, order_id)
  UNION ALL SELECT x.order_id, x.vendor, x.refund_time, x.event_id, 'REFUNDED', 4
  FROM stg_refunds x JOIN touched USING (vendor, order_id)
  UNION ALL SELECT x.order_id, x.vendor, x.update_time, x.event_id, NULL, 0
  FROM stg_order_updates x JOIN touched USING (vendor, order_id)),
st AS (SELECT vendor, order_id, st FROM ev WHERE st IS NOT NULL
       -- one shipment history may hold two statuses at the same minute: the later stage wins
       QUALIFY row_number() OVER (PARTITION BY vendor, order_id ORDER BY t DESC, rk DESC,
           CASE st WHEN 'SHIPMENT_DELIVERED' THEN 4 WHEN 'SHIPMENT_IN_TRANSIT' THEN 3
                   WHEN 'SHIPMENT_PICKED_UP' THEN 2 WHEN 'SHIPMENT_CREATED' THEN 1 ELSE 0 END DESC,
           st DESC, event_id DESC) = 1),
agg AS (SELECT vendor, order_id, max(t) AS last_event_time,
               string_agg(DISTINCT event_id, ',' ORDER BY event_id NULLS FIRST) AS event_ids
        FROM ev GROUP BY vendor, order_id)
SELECT agg.order_id, agg.vendor, o.customer_key, o.order_time,
       CAST(o.order_time AS DATE) AS order_date, o.currency, o.total, o.total_ngn, o.item_count, st.st AS status,
       pay.first_paid_time, coalesce(pay.paid_ngn, 0) AS paid_ngn, coalesce(ref.refunded_ngn, 0) AS refunded_ngn,
       coalesce(ref.refund_count, 0) AS refund_count,
       coalesce(ref.lists OR ref.refunded_ngn < pay.paid_ngn, false) AS has_partial_refund,
       agg.last_event_time, agg.event_ids, $run_id AS run_id
FROM agg LEFT JOIN o USING (vendor, order_id) LEFT JOIN pay USING (vendor, order_id)
LEFT JOIN ref USING (vendor, order_id) LEFT JOIN st USING (vendor, order_id)"""

_ORDER_COLS = FACTS["fact_orders"].names
FACT_ORDERS = [
    f"""
MERGE INTO fact_orders AS t USING ({ORDER_STATE}) AS s ON t.vendor = s.vendor AND t.order_id = s.order_id
WHEN MATCHED AND s.last_event_time >= t.last_event_time THEN UPDATE SET
  {", ".join(f"{c} = s.{c}" for c in _ORDER_COLS if c not in ("vendor", "order_id"))}
WHEN NOT MATCHED THEN INSERT ({", ".join(_ORDER_COLS)}) VALUES ({", ".join(f"s.{c}" for c in _ORDER_COLS)})"""
]

FACT_ORDER_DAILY = _replace(
    "fact_order_daily",
    f"""
WITH o AS (SELECT event_date AS date, vendor, count(DISTINCT order_id) AS orders, sum(total_ngn) AS order_value_ngn
           FROM stg_orders WHERE {WINDOW} GROUP BY ALL),
p AS (SELECT event_date AS date, vendor, count(CASE WHEN status = 'SUCCESS' THEN 1 END) AS successful_payments,
             count(CASE WHEN status <> 'SUCCESS' THEN 1 END) AS failed_payments,
             sum(CASE WHEN status = 'SUCCESS' THEN amount_ngn END) AS gross_revenue_ngn
      FROM fact_payments WHERE {WINDOW} GROUP BY ALL),
r AS (SELECT event_date AS date, vendor, sum(amount_ngn) AS refunds_ngn FROM fact_refunds WHERE {WINDOW} GROUP BY ALL),
k AS (SELECT date, vendor FROM o UNION SELECT date, vendor FROM p UNION SELECT date, vendor FROM r)
SELECT k.date, k.vendor, coalesce(o.orders, 0) AS orders, round(coalesce(o.order_value_ngn, 0), 2) AS order_value_ngn,
       coalesce(p.successful_payments, 0) AS successful_payments, coalesce(p.failed_payments, 0) AS failed_payments,
       round(coalesce(p.gross_revenue_ngn, 0), 2) AS gross_revenue_ngn, round(coalesce(r.refunds_ngn, 0), 2) AS refunds_ngn,
       round(coalesce(p.gross_revenue_ngn, 0) - coalesce(r.refunds_ngn, 0), 2) AS net_revenue_ngn, $run_id AS run_id
FROM k LEFT JOIN o USING (date, vendor) LEFT JOIN p USING (date, vendor) LEFT JOIN r USING (date, vendor)""",
    col="date",
)

DIM_CUSTOMER = [
    f"""DELETE FROM dim_customer WHERE customer_key IN
        (SELECT customer_key FROM stg_orders WHERE {WINDOW} AND customer_key IS NOT NULL)""",
    f"""INSERT INTO dim_customer BY NAME
        SELECT customer_key, max(customer_id) AS customer_id, max(email) AS email, max(phone) AS phone,
               min(order_time) AS first_seen, max(order_time) AS last_seen,
               string_agg(DISTINCT vendor, ',' ORDER BY vendor NULLS FIRST) AS vendors_seen, count(DISTINCT order_id) AS orders,
               lower(trim(max(email))) AS email_norm
        FROM stg_orders WHERE customer_key IN
          (SELECT customer_key FROM stg_orders WHERE {WINDOW} AND customer_key IS NOT NULL)
        GROUP BY customer_key""",
    CUSTOMER_USER_LINK,
]

DIM_PRODUCT = [
    f"DELETE FROM dim_product WHERE sku IN (SELECT sku FROM stg_order_items WHERE {WINDOW} AND sku IS NOT NULL)",
    f"""INSERT INTO dim_product BY NAME
        SELECT sku, min(order_time) AS first_seen, max(order_time) AS last_seen, min(unit_price_ngn) AS min_price_ngn,
               max(unit_price_ngn) AS max_price_ngn, count(*) AS lines
        FROM stg_order_items WHERE sku IN (SELECT sku FROM stg_order_items WHERE {WINDOW} AND sku IS NOT NULL)
        GROUP BY sku""",
]

# dim_date: the calendar between these bounds is built in Python (warehouse/calendar.py).
DATE_BOUNDS = """
SELECT min(d) AS lo, max(d) AS hi FROM (
  SELECT min(event_date) AS d FROM stg_orders UNION ALL SELECT max(event_date) FROM stg_orders
  UNION ALL SELECT min(paid_date) FROM fact_payments UNION ALL SELECT max(paid_date) FROM fact_payments
  UNION ALL SELECT min(refund_date) FROM fact_refunds UNION ALL SELECT max(refund_date) FROM fact_refunds
  UNION ALL SELECT min(CAST(status_time AS DATE)) FROM fact_shipments
  UNION ALL SELECT max(CAST(status_time AS DATE)) FROM fact_shipments
  UNION ALL SELECT min(order_date) FROM fact_orders UNION ALL SELECT max(order_date) FROM fact_orders) AS bounds"""

KPI_DAILY_REVENUE = [
    "DELETE FROM kpi_daily_revenue WHERE true",
    """
INSERT INTO kpi_daily_revenue BY NAME
WITH g AS (SELECT paid_date AS date, sum(amount_ngn) AS gross FROM fact_payments WHERE status = 'SUCCESS' GROUP BY 1),
r AS (SELECT refund_date AS date, sum(amount_ngn) AS refunds FROM fact_refunds GROUP BY 1)
SELECT date, round(coalesce(gross, 0), 2) AS gross_revenue_ngn, round(coalesce(refunds, 0), 2) AS refunds_ngn,
       round(coalesce(gross, 0) - coalesce(refunds, 0), 2) AS net_revenue_ngn
FROM g FULL OUTER JOIN r USING (date)""",
]

# Audit: record each day whose reported net revenue is new or changed since its last snapshot.
REVENUE_SNAPSHOT = [
    """
INSERT INTO revenue_snapshots BY NAME
WITH last AS (SELECT date, net_revenue_ngn FROM revenue_snapshots WHERE true
              QUALIFY row_number() OVER (PARTITION BY date ORDER BY reported_at DESC, run_id DESC) = 1)
SELECT k.date, $run_id AS run_id, $reported_at AS reported_at, k.gross_revenue_ngn, k.refunds_ngn, k.net_revenue_ngn
FROM kpi_daily_revenue k LEFT JOIN last USING (date)
WHERE last.date IS NULL OR last.net_revenue_ngn IS DISTINCT FROM k.net_revenue_ngn"""
]

# ...and the events behind each snapshot this run took (a restatement is the difference of two sets).
REVENUE_SNAPSHOT_EVENTS = [
    """
INSERT INTO revenue_snapshot_events BY NAME
WITH s AS (SELECT date, run_id FROM revenue_snapshots x WHERE run_id = $run_id
           AND NOT EXISTS (SELECT 1 FROM revenue_snapshot_events e WHERE e.date = x.date AND e.run_id = x.run_id))
SELECT s.date, s.run_id, p.event_id, 'payment' AS kind, p.amount_ngn
FROM s JOIN fact_payments p ON p.paid_date = s.date WHERE p.status = 'SUCCESS'
UNION ALL
SELECT s.date, s.run_id, r.event_id, 'refund' AS kind, -r.amount_ngn AS amount_ngn
FROM s JOIN fact_refunds r ON r.refund_date = s.date"""
]

KPI_VENDOR_PAYMENT_SUCCESS = [
    "DELETE FROM kpi_vendor_payment_success WHERE true",
    """
INSERT INTO kpi_vendor_payment_success BY NAME
SELECT paid_date AS date, vendor, count(*) AS attempts, count(CASE WHEN status = 'SUCCESS' THEN 1 END) AS successes,
       count(CASE WHEN status = 'SUCCESS' THEN 1 END) / count(*) AS success_rate
FROM fact_payments WHERE status IN ('SUCCESS', 'FAILED') GROUP BY ALL""",
]

KPI_ORDER_TO_PAYMENT = [
    "DELETE FROM kpi_order_to_payment WHERE true",
    """
INSERT INTO kpi_order_to_payment BY NAME
WITH gaps AS (SELECT order_date AS date, vendor,
                     date_diff('millisecond', order_time, first_paid_time) / 60000.0 AS minutes
              FROM fact_orders WHERE order_time IS NOT NULL AND first_paid_time IS NOT NULL),
med AS (SELECT DISTINCT date, vendor, quantile_cont(minutes, 0.5) OVER (PARTITION BY date, vendor) AS median_minutes
        FROM gaps WHERE minutes >= 0),
agg AS (SELECT date, vendor, count(*) AS orders, avg(CASE WHEN minutes >= 0 THEN minutes END) AS avg_minutes,
               count(CASE WHEN minutes < 0 THEN 1 END) AS negative_gaps
        FROM gaps GROUP BY date, vendor)
SELECT agg.date, agg.vendor, agg.orders, round(agg.avg_minutes, 4) AS avg_minutes,
       round(med.median_minutes, 4) AS median_minutes, agg.negative_gaps
FROM agg LEFT JOIN med USING (date, vendor)""",
]

KPI_REFUND_RATE = [
    "DELETE FROM kpi_refund_rate WHERE true",
    """
INSERT INTO kpi_refund_rate BY NAME
WITH paid AS (SELECT CAST(first_paid_time AS DATE) AS date, count(*) AS paid_orders,
                     count(CASE WHEN refund_count > 0 THEN 1 END) AS refunded_orders,
                     count(CASE WHEN refund_count > 0 AND has_partial_refund THEN 1 END) AS partial_refunds
              FROM fact_orders WHERE first_paid_time IS NOT NULL GROUP BY 1)
SELECT paid.date, paid_orders, refunded_orders, partial_refunds, refunded_orders / paid_orders AS refund_rate,
       CASE WHEN coalesce(k.gross_revenue_ngn, 0) > 0 THEN k.refunds_ngn / k.gross_revenue_ngn END AS value_rate
FROM paid LEFT JOIN kpi_daily_revenue k USING (date)""",
]

# The order lines top products count: the latest order_created event of each order with a successful payment.
PAID_ORDER_EVENTS = """o AS (SELECT x.event_id FROM stg_orders x
           WHERE EXISTS (SELECT 1 FROM fact_orders f WHERE f.vendor = x.vendor AND f.order_id = x.order_id
                         AND f.first_paid_time IS NOT NULL)
           QUALIFY row_number() OVER (PARTITION BY vendor, order_id ORDER BY order_time DESC, event_id DESC) = 1)"""

KPI_TOP_PRODUCTS = [
    "DELETE FROM kpi_top_products WHERE true",
    f"""
INSERT INTO kpi_top_products BY NAME
WITH {PAID_ORDER_EVENTS},
s AS (SELECT sku, sum(qty) AS units, sum(qty * unit_price_ngn) AS revenue FROM stg_order_items
      WHERE event_id IN (SELECT event_id FROM o) AND sku IS NOT NULL GROUP BY sku)
SELECT row_number() OVER (ORDER BY revenue DESC, sku) AS rank, sku, units, round(revenue, 2) AS revenue_ngn FROM s""",
]

KPI_STATEMENTS = {
    "kpi_daily_revenue": KPI_DAILY_REVENUE
    + [final_overall("kpi_daily_revenue")]
    + REVENUE_SNAPSHOT
    + REVENUE_SNAPSHOT_EVENTS,
    "kpi_vendor_payment_success": KPI_VENDOR_PAYMENT_SUCCESS
    + [final_per_vendor("kpi_vendor_payment_success")],
    "kpi_order_to_payment": KPI_ORDER_TO_PAYMENT + [final_per_vendor("kpi_order_to_payment")],
    "kpi_refund_rate": KPI_REFUND_RATE + [final_overall("kpi_refund_rate")],
    "kpi_top_products": KPI_TOP_PRODUCTS,
}
WINDOW_STATEMENTS = {
    "fact_payments": FACT_PAYMENTS,
    "fact_refunds": FACT_REFUNDS,
    "fact_shipments": FACT_SHIPMENTS,
    "fact_orders": FACT_ORDERS,
    "fact_order_daily": FACT_ORDER_DAILY,
    "dim_customer": DIM_CUSTOMER,
    "dim_product": DIM_PRODUCT,
}
