"""Multi-academy trusts: their schools, their finance leads and how they are invoiced."""
