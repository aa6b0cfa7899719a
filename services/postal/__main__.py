"""`python -m services.postal`: the postal process's composition root."""

from services.postal.settings import PostalSettings
from shared.service import serve

if __name__ == "__main__":
    serve(PostalSettings(), migrations=[], title="lienthong postal")
