// Generate and the unary calls through a real channel, against a direct engine run.
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/unit/service/server_test_util.h"

namespace smollm::service::testing {
namespace {

using smollm::testing::kSanitizerBuild;

TEST(ServerGenerateTest, StreamMatchesADirectEngineRun) {
  TestServer server;
  const int n = kSanitizerBuild ? 4 : 8;
  const std::string prompt = "The quick brown fox";
  v1::GenerateRequest request;
  request.set_prompt(prompt);
  *request.mutable_sampling() = GreedyExact(n);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), request);
  StreamResult got = ReadGenerate(*reader);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  const auto& md = context->GetServerInitialMetadata();
  auto served_by = md.find("x-served-by");
  ASSERT_NE(served_by, md.end());
  EXPECT_EQ(std::string(served_by->second.data(), served_by->second.size()), "test-replica");

  // The same request straight into the engine.
  runtime::GenerateRequest direct;
  direct.prompt = TestModel()->tokenizer().Encode(prompt, {.add_special = true});
  direct.sampling.temperature = 0;
  direct.sampling.max_tokens = n;
  for (const auto& [id, bias] : request.sampling().logit_bias()) direct.sampling.logit_bias[id] = bias;
  auto sink = std::make_shared<runtime::TokenSink>();
  ASSERT_TRUE(server.engine().Submit(direct, sink).ok());
  std::string text;
  std::vector<int32_t> ids;
  for (;;) {
    sink->WaitForEvent(absl::Milliseconds(50));
    runtime::TokenEvent event;
    while (sink->Take(&event)) {
      text += event.text;
      ids.insert(ids.end(), event.tokens.begin(), event.tokens.end());
    }
    if (sink->TakeFinal().has_value()) break;
  }
  EXPECT_EQ(got.text, text);
  EXPECT_EQ(got.token_ids, ids);
  EXPECT_EQ(got.end.finish_reason(), v1::FINISH_REASON_MAX_TOKENS);
  EXPECT_EQ(got.end.usage().completion_tokens(), n);
  EXPECT_EQ(got.end.usage().prompt_tokens(), static_cast<int>(direct.prompt.size()));
  EXPECT_GT(got.end.usage().total_time().nanos() + got.end.usage().total_time().seconds(), 0);
}

TEST(ServerGenerateTest, MessagesWithLogprobs) {
  TestServer server;
  v1::GenerateRequest request;
  auto* m = request.mutable_messages()->add_messages();
  m->set_role("user");
  m->set_content("Name a colour.");
  *request.mutable_sampling() = GreedyExact(4);
  request.mutable_logprobs()->set_top_logprobs(2);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), request);
  v1::GenerateResponse response;
  int tokens = 0;
  while (reader->Read(&response)) {
    const v1::TokenDelta& d = response.delta();
    EXPECT_EQ(d.logprobs_size(), d.token_ids_size());
    EXPECT_EQ(d.top_logprobs_size(), d.token_ids_size());
    for (int i = 0; i < d.logprobs_size(); ++i) {
      EXPECT_LE(d.logprobs(i), 0.0f);
      ASSERT_EQ(d.top_logprobs(i).alternatives_size(), 2);
      // Greedy: the sampled token is the most likely alternative.
      EXPECT_EQ(d.top_logprobs(i).alternatives(0).token_id(), d.token_ids(i));
    }
    tokens += d.token_ids_size();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(tokens, 4);
}

TEST(ServerGenerateTest, UnaryCalls) {
  TestServer server;
  const std::string text = "Hello, w\xc3\xb6rld! <|im_start|>";
  v1::TokenizeRequest tokenize;
  tokenize.set_text(text);
  v1::TokenizeResponse tokens;
  auto c1 = server.Context();
  ASSERT_TRUE(server.stub().Tokenize(c1.get(), tokenize, &tokens).ok());
  EXPECT_GT(tokens.token_ids_size(), 5);  // the special-token text stays plain text
  tokenize.set_parse_special(true);
  v1::TokenizeResponse special;
  auto c2 = server.Context();
  ASSERT_TRUE(server.stub().Tokenize(c2.get(), tokenize, &special).ok());
  EXPECT_LT(special.token_ids_size(), tokens.token_ids_size());

  v1::DetokenizeRequest detokenize;
  *detokenize.mutable_token_ids() = tokens.token_ids();
  v1::DetokenizeResponse back;
  auto c3 = server.Context();
  ASSERT_TRUE(server.stub().Detokenize(c3.get(), detokenize, &back).ok());
  EXPECT_EQ(back.text(), text);
  detokenize.add_token_ids(TestModel()->config().vocab_size);
  auto c4 = server.Context();
  const grpc::Status bad = server.stub().Detokenize(c4.get(), detokenize, &back);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(bad), "token_ids[" + std::to_string(tokens.token_ids_size()) + "]");

  v1::ModelInfo info;
  auto c5 = server.Context();
  ASSERT_TRUE(server.stub().GetModelInfo(c5.get(), {}, &info).ok());
  EXPECT_EQ(info.vocab_size(), TestModel()->config().vocab_size);
  EXPECT_EQ(info.context_length(), 1024);
  EXPECT_EQ(info.architecture(), "llama");
  EXPECT_EQ(info.chat_template(), "smollm2");
  EXPECT_GT(info.parameters(), 100000000);
  EXPECT_EQ(info.limits().max_prompt_bytes(), 4096);
}

TEST(ServerGenerateTest, ClientCancelFreesTheKvCache) {
  TestServerOptions options;
  options.token_buffer = 4;
  TestServer server(options);
  v1::GenerateRequest request;
  request.set_prompt("Once upon a time");
  *request.mutable_sampling() = GreedyExact(500);
  auto context = server.Context();
  auto reader = server.stub().Generate(context.get(), request);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  context->TryCancel();
  while (reader->Read(&first)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(server.engine().WaitUntilIdle(absl::Seconds(60)));
  const runtime::EngineStats stats = server.engine().Stats();
  EXPECT_EQ(stats.kv_pages_used, 0);
  EXPECT_EQ(stats.sequences, 0);
  EXPECT_LT(stats.tokens_out, 500);
}

TEST(ServerGenerateTest, DeadlineExpiry) {
  TestServer server;
  v1::GenerateRequest request;
  request.set_prompt("Count: one, two, three,");
  *request.mutable_sampling() = GreedyExact(1000);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  auto reader = server.stub().Generate(&context, request);
  StreamResult got = ReadGenerate(*reader);
  EXPECT_EQ(got.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(server.engine().WaitUntilIdle(absl::Seconds(60)));
  EXPECT_EQ(server.engine().Stats().kv_pages_used, 0);
}

TEST(ServerGenerateTest, ConcurrentStreamsWithRandomCancels) {
  TestServerOptions options;
  options.token_buffer = 4;
  TestServer server(options);
  const int streams = kSanitizerBuild ? 4 : 8;
  std::mt19937 rng(1234);
  std::vector<int> cancel_after(streams);  // messages read before cancelling; 0 = never
  for (int& n : cancel_after) n = static_cast<int>(rng() % 4);
  std::vector<grpc::Status> statuses(streams);
  std::vector<int> completion(streams, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] {
      v1::GenerateRequest request;
      request.set_prompt("Stream number " + std::to_string(i) + " says");
      *request.mutable_sampling() = GreedyExact(cancel_after[i] == 0 ? 6 : 300);
      auto context = server.Context();
      auto reader = server.stub().Generate(context.get(), request);
      v1::GenerateResponse response;
      int read = 0;
      while (reader->Read(&response)) {
        completion[i] = response.end().usage().completion_tokens();
        if (++read == cancel_after[i]) context->TryCancel();
      }
      statuses[i] = reader->Finish();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < streams; ++i) {
    if (cancel_after[i] == 0) {
      EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
      EXPECT_EQ(completion[i], 6) << i;
    } else {
      EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::CANCELLED) << i;
    }
  }
  ASSERT_TRUE(server.engine().WaitUntilIdle(absl::Seconds(60)));
  EXPECT_EQ(server.engine().Stats().kv_pages_used, 0);
  EXPECT_EQ(server.engine().Stats().sequences, 0);
  // Every reactor is done (OnDone runs after the client saw its status).
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (server.server().service().live_streams() > 0 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(server.server().service().live_streams(), 0u);
}

}  // namespace
}  // namespace smollm::service::testing
