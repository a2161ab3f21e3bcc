"""Gold statements over Silver (and the vendor facts for money). Whole-table recomputes:
cheap at these sizes, and correct whatever order late records arrived in.

Revenue comes only from successful vendor payments (kpi_aov); behavioural events feed the
funnel and never a financial figure. A session's paid order is a paid platform order (even if
cancelled later) of the session's user, created from its first checkout (less a clock-skew
tolerance) to 60 minutes after its last event; each order is credited to one session.
"""

from __future__ import annotations

from commercepulse.warehouse.lateness import final_per_vendor
from commercepulse.warehouse.session_credit import (
    PAID_ORDER_CLOCK_SKEW_SECONDS,
    PAID_ORDER_WINDOW_MINUTES,
)

DIM_PRODUCT_HISTORY = [
    "DELETE FROM dim_product_history WHERE true",
    """
INSERT INTO dim_product_history BY NAME
SELECT product_id AS sku, row_number() OVER (PARTITION BY product_id ORDER BY valid_from) AS version, product_name,
       category, price_ngn AS list_price_ngn, valid_from, valid_to, is_current
FROM silver_products""",
]

FACT_PLATFORM_ORDER_ITEMS = [
    "DELETE FROM fact_platform_order_items WHERE true",
    """
INSERT INTO fact_platform_order_items BY NAME
SELECT i.order_id, i.line_no, i.product_id AS sku, i.quantity, i.unit_price_ngn,
       round(i.quantity * i.unit_price_ngn, 2) AS line_value_ngn,
       i.created_at AS order_time, h.version AS product_version, h.category AS category_at_order,
       h.list_price_ngn AS list_price_at_order_ngn
FROM silver_order_items i
LEFT JOIN dim_product_history h
  ON h.sku = i.product_id AND i.created_at >= h.valid_from AND (h.valid_to IS NULL OR i.created_at < h.valid_to)""",
]

# Every order known from its lifecycle or from its lines. Its creation time: the first CREATED record,
# else (no CREATED record) the earliest line's created_at, else the earliest lifecycle record.
FACT_PLATFORM_ORDERS = [
    "DELETE FROM fact_platform_orders WHERE true",
    """
INSERT INTO fact_platform_orders BY NAME
WITH i AS (SELECT order_id, count(*) AS lines, sum(quantity * unit_price_ngn) AS value, min(created_at) AS first_line_at
           FROM silver_order_items GROUP BY order_id),
ids AS (SELECT order_id FROM silver_orders UNION DISTINCT SELECT order_id FROM i),
o AS (SELECT ids.order_id, s.user_id, s.status, s.paid_at, s.shipped_at, s.cancelled_at, s.cancelled_after_payment,
             s.status_went_backwards, coalesce(i.lines, 0) AS lines, coalesce(i.value, 0) AS value,
             coalesce(s.created_at, i.first_line_at, s.first_status_time) AS created_at,
             CASE WHEN s.created_at IS NOT NULL THEN 'CREATED' WHEN i.first_line_at IS NOT NULL THEN 'order_items'
                  ELSE 'first_status' END AS created_from
      FROM ids LEFT JOIN silver_orders s ON s.order_id = ids.order_id LEFT JOIN i ON i.order_id = ids.order_id)
SELECT o.order_id, o.user_id, o.status, o.created_at, o.created_from,
       CAST(o.created_at AS DATE) AS order_date, o.paid_at, o.shipped_at, o.cancelled_at, o.cancelled_after_payment,
       o.status_went_backwards, o.lines, round(o.value, 2) AS order_value_ngn
FROM o""",
]

# A paid order is credited to at most one session: among its user's sessions whose first checkout
# is at most PAID_ORDER_CLOCK_SKEW_SECONDS after the order's creation and that ended at most
# PAID_ORDER_WINDOW_MINUTES before it, the one whose first checkout is latest (then the lowest
# session id). The tolerance absorbs the clocks of two systems: an order stamped a few seconds
# before the checkout event that led to it still belongs to that session.
FACT_SESSIONS = [
    "DELETE FROM fact_sessions WHERE true",
    f"""
INSERT INTO fact_sessions BY NAME
WITH s AS (
  SELECT session_id, min(user_id) AS user_id, arg_min(device_type, event_ts) AS device_type,
         min(event_ts) AS session_start, max(event_ts) AS session_end, count(*) AS events,
         count(CASE WHEN event_type = 'view' THEN 1 END) AS views,
         count(CASE WHEN event_type = 'add_to_cart' THEN 1 END) AS add_to_carts,
         count(CASE WHEN event_type = 'checkout' THEN 1 END) AS checkouts,
         min(CASE WHEN event_type = 'checkout' THEN event_ts END) AS first_checkout
  FROM silver_behaviour_events GROUP BY session_id),
credited AS (
  SELECT o.order_id, s.session_id
  FROM s JOIN fact_platform_orders o ON o.user_id = s.user_id AND o.paid_at IS NOT NULL
   AND date_diff('millisecond', s.first_checkout, o.created_at) >= {-PAID_ORDER_CLOCK_SKEW_SECONDS * 1000}
   AND date_diff('millisecond', s.session_end, o.created_at) <= {PAID_ORDER_WINDOW_MINUTES * 60_000}
  QUALIFY row_number() OVER (PARTITION BY o.order_id ORDER BY s.first_checkout DESC, s.session_id) = 1),
paid AS (SELECT session_id, min(order_id) AS paid_order_id FROM credited GROUP BY session_id)
SELECT s.session_id, s.user_id, s.device_type, s.session_start, s.session_end,
       CAST(s.session_start AS DATE) AS session_date, s.events, s.views, s.add_to_carts, s.checkouts,
       s.views > 0 AS has_view, s.add_to_carts > 0 AS has_add_to_cart, s.checkouts > 0 AS has_checkout,
       paid.paid_order_id,
       CASE WHEN s.views = 0 THEN 0 WHEN s.add_to_carts = 0 THEN 1 WHEN s.checkouts = 0 THEN 2
            WHEN paid.paid_order_id IS NULL THEN 3 ELSE 4 END AS funnel_step,
       s.user_id IS NULL AS is_anonymous
FROM s LEFT JOIN paid USING (session_id)""",
]

KPI_DAILY_FUNNEL = [
    "DELETE FROM kpi_daily_funnel WHERE true",
    """
INSERT INTO kpi_daily_funnel BY NAME
WITH f AS (
  SELECT session_date AS date, coalesce(device_type, 'unknown') AS device_type, count(*) AS sessions,
         count(CASE WHEN funnel_step >= 1 THEN 1 END) AS view_sessions,
         count(CASE WHEN funnel_step >= 2 THEN 1 END) AS cart_sessions,
         count(CASE WHEN funnel_step >= 3 THEN 1 END) AS checkout_sessions,
         count(CASE WHEN funnel_step >= 4 THEN 1 END) AS paid_sessions,
         count(CASE WHEN has_checkout AND NOT has_add_to_cart THEN 1 END) AS skipped_cart_sessions,
         count(CASE WHEN is_anonymous THEN 1 END) AS anonymous_sessions
  FROM fact_sessions GROUP BY ALL)
SELECT date, device_type, sessions, view_sessions, cart_sessions, checkout_sessions, paid_sessions,
       skipped_cart_sessions, anonymous_sessions, cart_sessions / nullif(view_sessions, 0) AS view_to_cart,
       checkout_sessions / nullif(cart_sessions, 0) AS cart_to_checkout,
       paid_sessions / nullif(checkout_sessions, 0) AS checkout_to_paid,
       paid_sessions / nullif(view_sessions, 0) AS view_to_paid
FROM f""",
]

# AOV (SPEC §9): successful payments of the day / orders with a successful payment that day.
# The net-of-refunds variant sits beside it, named so.
KPI_AOV = [
    "DELETE FROM kpi_aov WHERE true",
    """
INSERT INTO kpi_aov BY NAME
WITH p AS (SELECT paid_date AS date, vendor, count(DISTINCT order_id) AS paid_orders, sum(amount_ngn) AS gross
           FROM fact_payments WHERE status = 'SUCCESS' GROUP BY ALL),
r AS (SELECT refund_date AS date, vendor, sum(amount_ngn) AS refunds FROM fact_refunds GROUP BY ALL)
SELECT date, vendor, coalesce(paid_orders, 0) AS paid_orders, round(coalesce(gross, 0), 2) AS gross_revenue_ngn,
       round(coalesce(refunds, 0), 2) AS refunds_ngn,
       round(coalesce(gross, 0) - coalesce(refunds, 0), 2) AS net_revenue_ngn,
       CASE WHEN paid_orders > 0 THEN round(coalesce(gross, 0) / paid_orders, 2) END AS aov_ngn,
       CASE WHEN paid_orders > 0 THEN round((coalesce(gross, 0) - coalesce(refunds, 0)) / paid_orders, 2) END
         AS net_aov_ngn
FROM p FULL OUTER JOIN r USING (date, vendor)""",
]

RETENTION_MONTHS = range(1, 7)
KPI_RETENTION = [
    "DELETE FROM kpi_retention WHERE true",
    f"""
INSERT INTO kpi_retention BY NAME
WITH paid AS (SELECT DISTINCT customer_key, CAST(date_trunc('month', first_paid_time) AS DATE) AS month
              FROM fact_orders WHERE first_paid_time IS NOT NULL AND customer_key IS NOT NULL),
cohort AS (SELECT customer_key, min(month) AS cohort_month FROM paid GROUP BY customer_key),
sizes AS (SELECT cohort_month, count(*) AS cohort_customers FROM cohort GROUP BY cohort_month),
back AS (SELECT c.cohort_month, datediff('month', c.cohort_month, p.month) AS months_since,
                count(DISTINCT p.customer_key) AS returning_customers
         FROM cohort c JOIN paid p USING (customer_key)
         WHERE datediff('month', c.cohort_month, p.month) BETWEEN 1 AND 6 GROUP BY ALL),
offsets AS ({" UNION ALL ".join(f"SELECT {k} AS months_since" for k in RETENTION_MONTHS)}),
last AS (SELECT max(month) AS last_month FROM paid)
SELECT s.cohort_month, o.months_since, s.cohort_customers, coalesce(b.returning_customers, 0) AS returning_customers,
       coalesce(b.returning_customers, 0) / s.cohort_customers AS retention_rate,
       date_diff('month', s.cohort_month, last.last_month) >= o.months_since AS observed
FROM sizes s CROSS JOIN offsets o CROSS JOIN last
LEFT JOIN back b ON b.cohort_month = s.cohort_month AND b.months_since = o.months_since""",
]

# dim_customer <- platform users by normalized email: one user per key (earliest created), conflicts counted.
CUSTOMER_USER_LINK = """
UPDATE dim_customer SET user_id = l.user_id, linked_users = l.linked_users
FROM (SELECT d.customer_key, u.user_id, coalesce(u.users, 0) AS linked_users
      FROM dim_customer d LEFT JOIN (
        SELECT email_norm, user_id, count(*) OVER (PARTITION BY email_norm) AS users
        FROM silver_users WHERE is_current AND email_norm IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY email_norm ORDER BY created_at, user_id) = 1) u
      ON u.email_norm = d.email_norm) l
WHERE dim_customer.customer_key = l.customer_key"""

GOLD_STATEMENTS: dict[str, list[str]] = {
    "dim_product_history": DIM_PRODUCT_HISTORY,
    "fact_platform_order_items": FACT_PLATFORM_ORDER_ITEMS,
    "fact_platform_orders": FACT_PLATFORM_ORDERS,
    "fact_sessions": FACT_SESSIONS,
    "kpi_daily_funnel": KPI_DAILY_FUNNEL,
    "kpi_aov": KPI_AOV + [final_per_vendor("kpi_aov")],
    "kpi_retention": KPI_RETENTION,
}
