"""Provider quirks the spec cannot express: one `ProviderHooks` subclass per provider that needs one.

The contract (every hook, its arguments and its default) is `tms_console.domain.hooks.ProviderHooks`;
the registry maps each spec to its hooks object (`registry.hooks_for`).
"""
