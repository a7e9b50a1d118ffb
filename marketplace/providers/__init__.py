"""Providers joining and staying in good standing: applications from the public "Become a
provider" page, and the compliance documents a provider must keep in date to sell."""
