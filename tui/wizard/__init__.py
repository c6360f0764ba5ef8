"""The configuration wizard behind F4: a model of the zones being configured and the editors over it.

`state.WizardState` contains the ConfigQingCloud `config` being built. Every
section (zones, variables, roles, VBC, EIP, review) reads it and writes back
only when the operator commits an edit.
"""
