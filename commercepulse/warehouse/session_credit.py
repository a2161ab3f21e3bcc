"""How a paid platform order is credited to a session (SPEC §9 funnels): the rule's two bounds,
read by the Gold SQL that applies them and by the column descriptions that state them."""

#: A session's first checkout credits an order created at most this long after it.
PAID_ORDER_WINDOW_MINUTES = 60
#: How far an order's creation may precede its session's first checkout (two systems' clocks).
PAID_ORDER_CLOCK_SKEW_SECONDS = 120
