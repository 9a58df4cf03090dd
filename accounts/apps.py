from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import signin, two_factor

        # Whichever view signs someone in or out: it is counted and audited, and someone
        # with an authenticator app still owes a code.
        signin.connect_receivers()
        two_factor.connect_receivers()
