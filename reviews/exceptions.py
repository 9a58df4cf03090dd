"""Refusals of the review domain, each with a message a doctor or integrator can act on.

Pages show the message in place; the API maps each class to a 4xx JSON body with
`code` and `message`.
"""


class ReviewError(Exception):
    code = "refused"
    http_status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotPermitted(ReviewError):
    code = "not_permitted"
    http_status = 403


class CaseAlreadyDecided(ReviewError):
    """Someone acted on the case first, or it is no longer in a state that allows this."""

    code = "case_already_decided"


class CaseConflict(ReviewError):
    """The case changed since the doctor loaded it (optimistic concurrency)."""

    code = "case_conflict"


class ClaimHeldByOther(ReviewError):
    code = "claim_held_by_other"


class ClaimExpired(ReviewError):
    code = "claim_expired"


class InvalidInput(ReviewError):
    code = "invalid"
    http_status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
