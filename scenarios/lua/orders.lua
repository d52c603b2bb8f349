-- Checkout traffic: 80% order posts, 20% product reads. For scenarios about the
-- order queue and its workers.
local shop = require("shop")

setup = shop.number_threads
delay = shop.think_time

function init(args)
  shop.seed(thread_number)
end

function request()
  if math.random() < 0.80 then
    return shop.order_post()
  end
  return shop.product_get()
end
