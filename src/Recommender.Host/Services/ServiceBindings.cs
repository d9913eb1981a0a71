using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;
using Recommender.V1;

namespace Recommender.Host.Services;

// Hand-written counterparts of the generated server bases: the same routes, but bound with
// StrictMethods, so that a malformed request is INVALID_ARGUMENT. grpc-dotnet finds BindService
// through [BindServiceMethod] on the base, and the reflection service finds the proto
// descriptor through the static Descriptor of the class the base is nested in.

/// <summary>recommender.v1.RecommendationService.</summary>
public static class RecommendationServiceBinding
{
    public static ServiceDescriptor Descriptor => RecommendationService.Descriptor;

    [BindServiceMethod(typeof(RecommendationServiceBinding), nameof(BindService))]
    public abstract class ServiceBase
    {
        public abstract Task<RecommendationsReply> GetRecommendations(GetRecommendationsRequest request, ServerCallContext context);
        public abstract Task<RecommendationsReply> GetSimilarTracks(GetSimilarTracksRequest request, ServerCallContext context);
        public abstract Task<RecommendationsReply> GetPopular(GetPopularRequest request, ServerCallContext context);
        public abstract Task<LogListenReply> LogListen(LogListenRequest request, ServerCallContext context);
    }

    public static void BindService(ServiceBinderBase binder, ServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(StrictMethods.Unary<GetRecommendationsRequest, RecommendationsReply>(Descriptor, nameof(ServiceBase.GetRecommendations)), service is null ? null : service.GetRecommendations);
        binder.AddMethod(StrictMethods.Unary<GetSimilarTracksRequest, RecommendationsReply>(Descriptor, nameof(ServiceBase.GetSimilarTracks)), service is null ? null : service.GetSimilarTracks);
        binder.AddMethod(StrictMethods.Unary<GetPopularRequest, RecommendationsReply>(Descriptor, nameof(ServiceBase.GetPopular)), service is null ? null : service.GetPopular);
        binder.AddMethod(StrictMethods.Unary<LogListenRequest, LogListenReply>(Descriptor, nameof(ServiceBase.LogListen)), service is null ? null : service.LogListen);
    }
}

/// <summary>recommender.v1.OpsService.</summary>
public static class OpsServiceBinding
{
    public static ServiceDescriptor Descriptor => OpsService.Descriptor;

    [BindServiceMethod(typeof(OpsServiceBinding), nameof(BindService))]
    public abstract class ServiceBase
    {
        public abstract Task<RetrainNowReply> RetrainNow(RetrainNowRequest request, ServerCallContext context);
        public abstract Task<StatusReply> GetStatus(GetStatusRequest request, ServerCallContext context);
        public abstract Task<ListRunsReply> ListRuns(ListRunsRequest request, ServerCallContext context);
        public abstract Task<InspectUserReply> InspectUser(InspectUserRequest request, ServerCallContext context);
        public abstract Task<InspectTrackReply> InspectTrack(InspectTrackRequest request, ServerCallContext context);
        public abstract Task<SearchTracksReply> SearchTracks(SearchTracksRequest request, ServerCallContext context);
        public abstract Task<ReportsReply> GetReports(GetReportsRequest request, ServerCallContext context);
        public abstract Task<OnlineQualityReply> GetOnlineQuality(GetOnlineQualityRequest request, ServerCallContext context);
    }

    public static void BindService(ServiceBinderBase binder, ServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(StrictMethods.Unary<RetrainNowRequest, RetrainNowReply>(Descriptor, nameof(ServiceBase.RetrainNow)), service is null ? null : service.RetrainNow);
        binder.AddMethod(StrictMethods.Unary<GetStatusRequest, StatusReply>(Descriptor, nameof(ServiceBase.GetStatus)), service is null ? null : service.GetStatus);
        binder.AddMethod(StrictMethods.Unary<ListRunsRequest, ListRunsReply>(Descriptor, nameof(ServiceBase.ListRuns)), service is null ? null : service.ListRuns);
        binder.AddMethod(StrictMethods.Unary<InspectUserRequest, InspectUserReply>(Descriptor, nameof(ServiceBase.InspectUser)), service is null ? null : service.InspectUser);
        binder.AddMethod(StrictMethods.Unary<InspectTrackRequest, InspectTrackReply>(Descriptor, nameof(ServiceBase.InspectTrack)), service is null ? null : service.InspectTrack);
        binder.AddMethod(StrictMethods.Unary<SearchTracksRequest, SearchTracksReply>(Descriptor, nameof(ServiceBase.SearchTracks)), service is null ? null : service.SearchTracks);
        binder.AddMethod(StrictMethods.Unary<GetReportsRequest, ReportsReply>(Descriptor, nameof(ServiceBase.GetReports)), service is null ? null : service.GetReports);
        binder.AddMethod(StrictMethods.Unary<GetOnlineQualityRequest, OnlineQualityReply>(Descriptor, nameof(ServiceBase.GetOnlineQuality)), service is null ? null : service.GetOnlineQuality);
    }
}
