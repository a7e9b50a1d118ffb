"""Order pages on the marketplace blueprint, by stage.

`orders`: ordering, the order page, and the head's and provider's decisions on it;
`basket`: the school's basket of offers from several providers and its checkout;
`deliveries`: after delivery, the school's confirmation or dispute and the partnership office's
list of disputes with its resolutions.
"""

from marketplace.orders.views import approvals, basket, deliveries, orders  # noqa: F401  (their routes)
