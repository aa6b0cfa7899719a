"""`python -m services.routing`: the routing process's composition root."""

from services.routing.settings import RoutingSettings
from shared.service import serve

if __name__ == "__main__":
    serve(RoutingSettings(), migrations=[], title="lienthong routing")
