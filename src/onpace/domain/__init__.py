"""The pure core: model values, calendar, plans, evaluation, forecast, roll-up and governance decisions.

Nothing in this package does IO or reads the clock; every function takes ``as_of`` explicitly.
"""
