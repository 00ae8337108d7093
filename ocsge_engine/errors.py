"""Error family of the engine.

Every error a user can cause is a subclass of :class:`OcsgeError`. Each carries two messages:
``str(err)`` is English, for logs and developers; ``err.user_message`` is French, for the
dashboard and the CLI. Each subclass also inherits the matching builtin so that generic
``except ValueError`` code keeps working.
"""

from __future__ import annotations


class OcsgeError(Exception):
    """Root of all user-caused engine errors.

    Args:
        message: English description for logs.
        user_message: French message shown to the user. Defaults to a generic French text.
    """

    default_user_message = "Une erreur est survenue lors du traitement des données OCS GE."

    def __init__(self, message: str, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or self.default_user_message


class ArchiveError(OcsgeError, ValueError):
    """Corrupt, truncated or unsafe archive."""

    default_user_message = "L'archive est illisible ou incomplète : téléchargez-la à nouveau."


class CrsError(OcsgeError, ValueError):
    """Missing or unexpected coordinate reference system."""

    default_user_message = "Le système de coordonnées (CRS) du fichier est absent ou incorrect."


class SchemaError(OcsgeError, ValueError):
    """A layer lacks a required field or cannot be recognised."""

    default_user_message = "Le fichier ne contient pas les champs attendus d'une livraison OCS GE."


class UnknownCodeError(OcsgeError, ValueError):
    """Codes outside the CS/US nomenclature."""

    default_user_message = "Le fichier contient des codes CS/US inconnus de la nomenclature."


class GeometryError(OcsgeError, ValueError):
    """Geometries that cannot be used (empty layer, unrepairable)."""

    default_user_message = "Les géométries du fichier sont inutilisables."


class EmptyInputError(OcsgeError, ValueError):
    """A file or layer with no features."""

    default_user_message = "Le fichier est vide : aucune entité à importer."


class TerritoryNotFoundError(OcsgeError, KeyError):
    """No territory matches the given code or name."""

    default_user_message = "Territoire introuvable : vérifiez le code INSEE ou le nom."

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class MillesimeError(OcsgeError, ValueError):
    """A millésime is missing from the store or the pair is inverted."""

    default_user_message = "Millésime indisponible pour ce territoire."


class DownloadError(OcsgeError, OSError):
    """A download failed (offline, wrong size, HTTP error)."""

    default_user_message = (
        "Le téléchargement a échoué : vérifiez la connexion internet et réessayez."
    )


class StoreError(OcsgeError, OSError):
    """The store is missing, unreadable or of an unsupported schema version."""

    default_user_message = "La base de données OCS GE est absente ou illisible."


class ImageryError(OcsgeError, ValueError):
    """An image that cannot be used for prediction."""

    default_user_message = "L'image fournie est inutilisable pour la prédiction."


class CheckpointError(OcsgeError, ValueError):
    """A model checkpoint that is missing, corrupt or of the wrong shape."""

    default_user_message = "Le modèle (checkpoint) est absent, corrompu ou incompatible."
