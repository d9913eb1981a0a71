namespace Recommender.Data;

/// <summary>
/// What the seed's tables say about a track besides its id: its name, albums, artists and genres
/// (names, no repeats) and its all-time listeners normalised to the most played track.
/// </summary>
public sealed class ItemDescriptions(TrackCatalog catalog, double[] numUsersNorm)
{
    public double NumUsersNorm(int item) => numUsersNorm[item];

    public string Name(int item) => catalog.TrackName(item);

    public string[] Albums(int item) => catalog.DistinctNames(CatalogTypes.Album, catalog.Albums.Of(item));

    public string[] Artists(int item) => catalog.DistinctNames(CatalogTypes.Artist, catalog.Artists.Of(item));

    public string[] Genres(int item) => catalog.DistinctNames(CatalogTypes.Genre, catalog.Genres.Of(item));
}
