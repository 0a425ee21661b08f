"""Player identity: provider names → NBA person ids through the player registry, never guessed."""
from shared.identity.names import NameKey, name_key
from shared.identity.resolver import PlayerResolver, Resolution

__all__ = ["NameKey", "name_key", "PlayerResolver", "Resolution"]
