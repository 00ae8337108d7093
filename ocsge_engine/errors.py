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


class NotCoveredError(MillesimeError):
    """The territory has no OCS GE data for the pair in the store (no data, no figure)."""

    default_user_message = ("Ce territoire n'est pas couvert par l'OCS GE chargée : "
                            "aucun chiffre n'est calculé.")


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


class FlagError(OcsgeError, ValueError):
    """A flag that cannot be recorded (nothing to correct, unknown flag, bad field)."""

    default_user_message = "Le signalement est incomplet ou invalide."


class LocalDataError(OcsgeError, ValueError):
    """An uploaded local data file cannot be used (encoding, separator, INSEE column, numbers)."""

    default_user_message = "Le fichier CSV n'a pas pu être lu."


class ConsumptionNotFoundError(OcsgeError, KeyError):
    """No consumption series covers the territory."""

    default_user_message = ("Aucune série de consommation d'espaces n'est disponible pour ce "
                            "territoire.")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class ReportError(OcsgeError, RuntimeError):
    """The report could not be produced (Chromium missing, failed or too slow)."""

    default_user_message = ("La génération du PDF a échoué : le navigateur Chromium est "
                            "introuvable ou n'a pas répondu à temps. Le rapport HTML reste "
                            "disponible.")


class ProcessTableError(OcsgeError, ValueError):
    """A process (or rule) table that cannot be used: bad columns, unknown codes, gaps."""

    default_user_message = "La table des processus est invalide."


class FlowCheckError(OcsgeError, ValueError):
    """An exchange matrix whose rows/columns do not match the stocks (inconsistent inputs)."""

    default_user_message = (
        "Les flux calculés ne correspondent pas aux surfaces des deux millésimes : les données "
        "sont incohérentes (couverture différente ou couche des différences incomplète)."
    )


class ClusterError(OcsgeError, ConnectionError):
    """The Dask scheduler cannot be reached."""

    default_user_message = "Le cluster Dask est injoignable : vérifiez l'adresse du scheduler."


class ExportError(OcsgeError, RuntimeError):
    """A figure could not be rendered to a static image (no browser, kaleido failure)."""

    default_user_message = ("L'export de l'image a échoué : le navigateur Chromium nécessaire "
                            "au rendu est introuvable ou a échoué.")
