"""The FHIR R4 (4.0.1) door: ``/fhir`` beside ``/v1``, over the same services and rules.

Pure mappings (``consent``, ``referral``, ``patient``, ``organization``, ``outcome``, ``search``,
``bundle``, ``capability``) turn FHIR resources into the requests ``/v1`` takes and the views
the services answer back into resources; ``access`` checks SMART scopes; ``routes`` is the route
table; ``endpoints`` serves each route through the same service calls as ``/v1``.
"""
