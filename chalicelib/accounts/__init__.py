"""Who the caller is: authentication delegated to Cognito or Auth0.

verifier.py checks a JWT as DESIGN.md says (signature from the provider's
JWKS, issuer, audience or client id, expiry, token use) and yields an
Identity (identity.py: sub, email, roles), which the authorizer hands to the
views in its context; profile.py and me.py answer GET /me.
"""
