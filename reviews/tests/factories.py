"""factory_boy factories for the review domain. Cases are built through `case_ingest`
where a test cares about ingest rules; these make rows directly for everything else."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import ApiClient, DoctorProfile, Hospital, User
from reviews.models import Case, CaseStatus, Message, Patient, Urgency


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"Hospital {n}")
    slug = factory.Sequence(lambda n: f"hospital-{n}")
    routine_sample_rate = 0.0


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    hospital = factory.SubFactory(HospitalFactory)
    role = User.Role.DOCTOR
    password = factory.django.Password("demo-password")


class DoctorFactory(UserFactory):
    """A doctor user with their DoctorProfile."""

    full_name = factory.Sequence(lambda n: f"Li Wei {n}")
    profile = factory.RelatedFactory(
        "reviews.tests.factories.DoctorProfileFactory",
        factory_related_name="user",
        hospital=factory.SelfAttribute("..hospital"),
    )


class AdminFactory(UserFactory):
    role = User.Role.ADMIN


class DoctorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoctorProfile

    user = factory.SubFactory(UserFactory)
    hospital = factory.SelfAttribute("user.hospital")
    specialty = DoctorProfile.Specialty.OBSTETRICS
    licence_number = factory.Sequence(lambda n: f"LIC{n:06d}")
    avatar_name = factory.LazyAttribute(lambda p: f"{p.user.full_name}'s avatar")


class ApiClientFactory(factory.django.DjangoModelFactory):
    """Use `api_client_create` when the test needs the token; this is for plain rows."""

    class Meta:
        model = ApiClient

    hospital = factory.SubFactory(HospitalFactory)
    name = "Avatar platform"
    scopes = ["cases:write", "cases:read"]
    token_prefix = "prt_test"
    token_hash = factory.Sequence(lambda n: f"{n:064x}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    hospital = factory.SubFactory(HospitalFactory)
    pseudonym = factory.Sequence(lambda n: f"P-T{n:05d}")
    ref_hash = factory.Sequence(lambda n: f"{n:064x}")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    doctor = factory.SubFactory(DoctorFactory)
    reviewer = factory.SelfAttribute("doctor")
    hospital = factory.SelfAttribute("doctor.hospital")
    patient = factory.SubFactory(PatientFactory, hospital=factory.SelfAttribute("..hospital"))
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    status = CaseStatus.AWAITING_REVIEW
    urgency = Urgency.ROUTINE
    review_reasons = factory.LazyFunction(lambda: ["routine_sample"])
    question_preview = "I have had a mild headache since yesterday, what should I do?"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=8))

    @factory.post_generation
    def conversation(self, create, extracted, **kwargs):
        """A patient question and an avatar draft, unless `conversation=False`."""
        if not create or extracted is False:
            return
        # In the past, as on ingest: anything a doctor writes afterwards sorts after them.
        asked = timezone.now() - timedelta(minutes=2)
        Message.objects.create(case=self, author="patient", body=self.question_preview, sent_at=asked)
        Message.objects.create(
            case=self,
            author="avatar",
            body="Rest, drink water and see a doctor if it gets worse or you develop a fever.",
            sent_at=asked + timedelta(seconds=5),
        )
