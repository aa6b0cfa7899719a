"""`python -m services.notification`: the notification process's composition root."""

from services.notification.settings import NotificationSettings
from shared.service import serve

if __name__ == "__main__":
    serve(NotificationSettings(), migrations=[], title="lienthong notification")
