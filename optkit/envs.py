"""Gymnasium registrations of every family's environments (FamilyAPI.gym_envs); imports gymnasium, so `optkit`
does not import this module.

    import gymnasium, optkit.envs
    env = gymnasium.make(ENV_ID, scenario=PRESET)      # an id of some family's gym_envs, e.g. from optkit.envs.ENVS
or, without the import: gymnasium.make("optkit.envs:" + ENV_ID).
"""
from gymnasium.envs.registration import register, registry

from optkit import registry as families

ENVS = {env_id: entry for family in families.families() for env_id, entry in family.gym_envs.items()}

for _id, _entry in ENVS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry)
