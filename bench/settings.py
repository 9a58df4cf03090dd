"""The portal's production settings, plus the bench's baseline views on their own URLs.

Only `make bench` uses this module: the baselines must run in the same server as the
portal (same process, middleware and connections) but are no part of the product.
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
