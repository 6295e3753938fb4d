from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.conf import settings

        from . import logs

        logs.add_static_secret(settings.COGNITO_CLIENT_SECRET)
