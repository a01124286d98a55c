"""The admin login lock-out's handler (settings.AXES_HANDLER).

settings.AXES_LOCKOUT_PARAMETERS counts failed logins per (username, address) and per
address. Axes' own database handler, on a successful login, deletes every failure
that matches any of those, which with the address among them is every failure from
that address: whoever holds one valid account could log in between guesses at other
accounts and never be locked out. This handler forgives only the failures of the
account that logged in, from that address; the address's guesses at other accounts
still count until they expire (AXES_COOLOFF_TIME).
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt


class LockoutHandler(AxesDatabaseHandler):
    def reset_user_attempts(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return deleted
