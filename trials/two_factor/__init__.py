"""Two-factor sign-in (issue 8): TOTP with django-otp, QR enrolment, recovery codes, required per role.

- ``services``: who needs it, enrolment, verification, recovery codes, the administrator's reset.
- ``middleware.TwoFactorMiddleware``: until verified, every page redirects to the two-factor step.
- ``api.TwoFactorVerified``: the DRF permission doing the same for session-authenticated API calls.
- ``views``: the screens (``trials/urls_two_factor.py``).

``two_factor_satisfied(user)`` answers "is this a fully signed-in session?" for other features.
"""
