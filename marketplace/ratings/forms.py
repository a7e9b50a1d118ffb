"""Forms for rating delivered work and replying to a rating."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import Required
from marketplace.ratings.rules import COMMENT_MAX, REPLY_MAX, SCORE_MAX, SCORE_MIN
from marketplace.ratings.services import RatingInput

SCORE_WORDS = {1: "Very poor", 2: "Poor", 3: "Acceptable", 4: "Good", 5: "Very good"}
SCORE_CHOICES = [(str(n), f"{n} – {SCORE_WORDS[n]}") for n in range(SCORE_MAX, SCORE_MIN - 1, -1)]


def _score(label: str, what: str) -> RadioField:
    return RadioField(
        label, choices=SCORE_CHOICES, validators=[Required(f"Choose a score for {what}")]
    )


class RatingForm(FlaskForm):
    quality = _score("Quality of the work", "quality")
    timeliness = _score("Timeliness: on time, as agreed", "timeliness")
    communication = _score("Communication", "communication")
    comment = TextAreaField(
        "Comment (optional)",
        validators=[
            Optional(),
            Length(max=COMMENT_MAX, message=f"Keep the comment to {COMMENT_MAX:,} characters"),
        ],
    )

    def to_input(self) -> RatingInput:
        """The entry for the use case, once the form has validated."""
        return RatingInput(
            quality=int(self.quality.data),
            timeliness=int(self.timeliness.data),
            communication=int(self.communication.data),
            comment=self.comment.data or "",
        )


class ReplyForm(FlaskForm):
    reply = TextAreaField(
        "Your public reply",
        validators=[
            Required("Enter your reply"),
            Length(max=REPLY_MAX, message=f"Keep the reply to {REPLY_MAX:,} characters"),
        ],
    )
