"""Fixtures for buying rounds."""

import pytest

from tests.procurement.rounds.factories import make_round_world


@pytest.fixture
def rw(world):
    """An open round on the world's counselling service for the future term, two offers."""
    return make_round_world(world)
