"""Code review: reviewer agents over a diff, findings validated, shown where people look.

``diff`` reads what is reviewed (git scopes, or a pull request through ``hosting``) and
splits it into batches; ``agents`` holds the reviewers; ``findings`` the ``report_finding``
tool and the validation pass; ``engine`` runs a review on the solver and keeps it as a
session; ``render`` writes text, JSON, SARIF and Markdown; ``post`` puts the findings on a
pull request; ``diagnostics`` keeps them in the editor as the text moves.
"""
