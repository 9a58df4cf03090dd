from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from .decision_guard import decision_guard_after_migrate, decision_guard_before_migrate

        # SQLite's decision guard steps aside while migrations remake tables (reviews/decision_guard.py).
        pre_migrate.connect(decision_guard_before_migrate, sender=self, dispatch_uid="reviews_decision_guard_pre")
        post_migrate.connect(decision_guard_after_migrate, sender=self, dispatch_uid="reviews_decision_guard_post")
